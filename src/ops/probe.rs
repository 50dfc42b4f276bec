//! `probe`: settles the platform facts the documents leave open (PRODUCT.md "Platform facts the
//! documents leave open") by trying them on throwaway courses, on the sandbox or the local
//! platform, never on production.
//!
//! The throwaway course is a copy of the catalog's first valid course (by course_id) under the
//! course_id `probe-<UTC timestamp>-a` and a title starting `[probe] `, without its audio, pdf
//! and office lessons (their resource types are one of the open facts; a text lesson stands in
//! when nothing is left). Its files are offered through `catalog.assets_base_url` as `apply`
//! offers them (on the local platform, the catalog is served to it). On the sandbox every write
//! carries `Aweme-Check-Type: OK`, so the sandbox approves the throwaway course (platform-api.md
//! §12), whatever `[app] sandbox_audit` says.
//!
//! How each fact is observed, and what leaves it unsettled (observed `null`):
//! - `query.echoes_course`: right after `add`, `query` the product and look for every field that
//!   was sent (response-side names: `*_uri` → `*_url`; `appid` is not course content and is not
//!   looked for). All there: `true`; some missing: `false`. Unsettled when the add or the query
//!   fails.
//! - `add.repeat_answers_10140`: `add` the same course again at once. 10140/10141 naming the
//!   first product: `true`; a second product id: `false`. Unsettled on any other answer.
//! - `query.status_means_listing` and `modify_status.codes`: once the course is approved (it is
//!   listed automatically, §5.1), read `product_status.status` of the live version, send the
//!   assumed delist code, read it again, send the assumed list code, read it again. The status
//!   follows the listing (changes on one send and comes back on the other): `true`, and the codes
//!   are the ones that moved it (as assumed, or swapped). It never changes: `false`, and the codes
//!   cannot be seen (unsettled) — unless the platform refused one of them, which contradicts the
//!   assumption (observed `null`, verdict contradicted). Unsettled when the course is not
//!   approved within the timeout or is rejected.
//! - `upload.resource_types`: upload an audio, a pdf and an office file of the catalog (the first
//!   lesson file of each kind) with the assumed codes and wait for each pull. All three pulled:
//!   the assumed table; a code refused: contradicted (observed `null`); a kind the catalog has no
//!   file of, or a pull that fails: unsettled.
//! - `token.new_revokes_old`: fetch a token, call with it, fetch another, call with the first
//!   again. Refused (10001): `true`; still accepted: `false`. Needs `COURSESYNC_APP_SECRET`
//!   (a ready token cannot fetch another): unsettled without it.
//!
//! Cleanup: every product the probe created is delisted once approved (with the observed delist
//! code, else the assumed one); products still in review are waited for, bounded by the timeout;
//! a rejected product is dead (§5.1) and needs nothing. Whatever remains is named in the report.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::apply::request;
use crate::catalog::codes::LessonKind;
use crate::catalog::model::Lesson;
use crate::catalog::{self, Course, FileRef};
use crate::error::{Hint, platform_error};
use crate::local::LocalPlatform;
use crate::plan::{Upload, canonical};
use crate::platform::facts::{
    FactValue, KnownFacts, ListingCodes, OpenFact, Recorded, ResourceTypes, known, resource_status,
    review_status,
};
use crate::platform::token::TokenSource;
use crate::platform::{Client, ClientConfig, PlatformError, wire};
use crate::settings::{Environment, Secret, Settings};

/// Options of a probe run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for an audit or an upload, each.
    pub timeout: Duration,
    /// Record the observations in `platform-facts.toml`.
    pub write: bool,
}

/// What the probe concluded about one fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Observed, and equal to the assumption.
    Confirmed,
    /// Observed otherwise, or the platform refused the assumed value.
    Contradicted,
    /// The probe could not tell.
    Unsettled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Contradicted => "contradicted",
            Verdict::Unsettled => "unsettled",
        }
    }
}

/// One fact: what coursesync assumes, what the platform showed, and how that was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub fact: OpenFact,
    pub assumed: FactValue,
    /// `None` when the probe could not tell.
    pub observed: Option<FactValue>,
    pub verdict: Verdict,
    /// How it was observed, or why it could not be: one sentence.
    pub how: String,
}

/// A product the probe created, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throwaway {
    pub course_id: String,
    pub product_id: i64,
    pub end: End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Delisted (with this status code).
    Delisted(i64),
    /// Rejected at audit: the id is dead (platform-api.md §5.1), nothing to delist.
    Rejected,
    /// Still on the platform as it was; why.
    Left(String),
}

/// What a probe run found and did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where it ran: `sandbox`, `local`, with the base URL when one is set.
    pub platform: String,
    /// When it started, RFC 3339 UTC.
    pub started: String,
    pub findings: Vec<Finding>,
    pub throwaways: Vec<Throwaway>,
    /// The facts file written (`--write`).
    pub written: Option<PathBuf>,
}

impl Report {
    /// The throwaway products still listed or in review.
    pub fn left(&self) -> Vec<&Throwaway> {
        self.throwaways
            .iter()
            .filter(|t| matches!(t.end, End::Left(_)))
            .collect()
    }
}

/// Progress of a probe run, for the command line to show.
#[derive(Debug)]
pub enum Step<'a> {
    /// Uploading the throwaway course's files.
    Uploading {
        files: usize,
    },
    Created {
        course_id: &'a str,
        product_id: i64,
    },
    /// Waiting for a throwaway product's audit.
    Waiting {
        product_id: i64,
    },
    Settled(&'a Finding),
    Ended(&'a Throwaway),
}

/// What coursesync takes a fact to be before this probe: the value `platform-facts.toml` gives,
/// else the documents' hypothesis ([`OpenFact::assumed`], docs/platform-facts.md).
pub fn assumed(known: &KnownFacts, fact: OpenFact) -> FactValue {
    known.get(fact).unwrap_or_else(|| fact.assumed())
}

/// Runs the probe. Refuses `environment = "production"`, even with a `base_url`.
pub fn probe(
    settings: &Settings,
    options: &Options,
    progress: &(dyn Fn(Step<'_>) + Sync),
) -> anyhow::Result<Report> {
    if settings.environment == Environment::Production {
        return Err(anyhow::anyhow!(
            "probe refuses environment = \"production\": it creates and delists throwaway courses"
        )
        .context(Hint(
            "run it with environment = \"sandbox\" (or \"local\"), commit the platform-facts.toml \
             it writes, then switch back"
                .into(),
        )));
    }
    if options.write && settings.environment == Environment::Local && settings.base_url.is_none() {
        return Err(anyhow::anyhow!(
            "probe --write refuses the in-process local platform: its facts are known, and \
             platform-facts.toml describes the real platform"
        )
        .context(Hint(
            "run `coursesync probe --write` with environment = \"sandbox\" (or point base_url at \
             the emulator you want to describe)"
                .into(),
        )));
    }
    let loaded = catalog::load(&settings.catalog_dir, &settings.root)?;
    let started = time::OffsetDateTime::now_utc();
    let stamp = started
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second][subsecond digits:3]"
        ))
        .context("formatting the probe's timestamp")?;
    let template = Template::new(&loaded, &format!("probe-{stamp}-a"))?;
    if settings.assets_base_url.is_none()
        && !crate::local::is_in_process(settings)
        && template
            .files()
            .iter()
            .any(|f| matches!(f, FileRef::Local(_)))
    {
        return Err(anyhow::anyhow!(
            "probe uploads files of the catalog, and catalog.assets_base_url is not set: the \
             platform needs a URL to pull them from"
        )
        .context(Hint(
            "set [catalog] assets_base_url to where the catalog's files are served, as apply \
             needs too"
                .into(),
        )));
    }
    let digests = template.digests(&loaded)?;
    let platform = match (&settings.base_url, settings.environment) {
        (Some(url), Environment::Local) => format!("local ({url})"),
        (Some(url), _) => format!("sandbox ({url})"),
        (None, Environment::Local) => "local (in-process)".to_owned(),
        (None, _) => "sandbox".to_owned(),
    };
    let mut report = super::runtime()?.block_on(async {
        let local = LocalPlatform::start_if_local(settings).await?;
        if let Some(local) = &local {
            // The local platform knows only the entities it is told about (as apply tells it).
            let subject = crate::roles::Subject::of_course(&template.course);
            local.seed_usable(&crate::roles::entity_ids(&[subject]))?;
        }
        let effective = local
            .as_ref()
            .map_or_else(|| settings.clone(), |l| l.settings(settings));
        let result = async {
            let mut config = ClientConfig::from_settings(&effective).map_err(platform_error)?;
            if settings.environment == Environment::Sandbox {
                // Any value but REJECT makes the sandbox approve (platform-api.md §12).
                config.check_type = Some("OK".into());
            }
            let client = Client::new(config.clone()).map_err(platform_error)?;
            // Nothing can be observed without working credentials: a wrong or missing secret is
            // an error (exit 1), not six unsettled facts.
            client.authenticate().await.map_err(platform_error)?;
            let run = Run {
                known: settings.facts,
                client,
                config,
                settings: effective,
                options: options.clone(),
                progress,
                digests,
            };
            run.all(&template).await
        }
        .await;
        if let Some(local) = local {
            local.shutdown().await;
        }
        result
    })?;
    report.platform = platform;
    report.started = started
        .replace_nanosecond(0)
        .unwrap_or(started)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if options.write {
        report.written = Some(write_facts(settings, &report)?);
    }
    Ok(report)
}

/// The course the probe copies, and the catalog files it tries the resource types with.
struct Template {
    course: Course,
    /// (kind name, file) of the first audio, pdf and office lesson file of the catalog.
    kinds: Vec<(&'static str, Option<FileRef>)>,
}

/// Lesson kinds whose resource type is an open fact.
const OPEN_KINDS: [(&str, LessonKind); 3] = [
    ("audio", LessonKind::Audio),
    ("pdf", LessonKind::Pdf),
    ("office", LessonKind::Office),
];

impl Template {
    fn new(loaded: &catalog::Loaded, course_id: &str) -> anyhow::Result<Template> {
        let Some(first) = loaded.catalog.courses.first() else {
            bail!(
                "probe copies a valid course of the catalog, and {} has none",
                loaded.catalog.dir.display()
            );
        };
        let mut course = first.clone();
        course_id.clone_into(&mut course.course_id);
        course.title = format!("[probe] {}", course.title);
        course
            .lessons
            .retain(|l| !OPEN_KINDS.iter().any(|(_, k)| *k == l.kind));
        if course.lessons.is_empty() {
            course.lessons.push(Lesson {
                name: "probe".into(),
                kind: LessonKind::Text,
                file: None,
                text: Some("coursesync probe".into()),
            });
        }
        let kinds = OPEN_KINDS
            .iter()
            .map(|(name, kind)| {
                let file = loaded
                    .catalog
                    .courses
                    .iter()
                    .flat_map(|c| &c.lessons)
                    .find(|l| l.kind == *kind)
                    .and_then(|l| l.file.clone());
                (*name, file)
            })
            .collect();
        Ok(Template { course, kinds })
    }

    /// Every file the probe may offer.
    fn files(&self) -> Vec<FileRef> {
        let mut files: Vec<FileRef> = self
            .course
            .file_uses()
            .into_iter()
            .map(|u| u.file)
            .chain(self.kinds.iter().filter_map(|(_, f)| f.clone()))
            .collect();
        files.dedup();
        files
    }

    /// sha256 of each local file the probe may offer.
    fn digests(&self, loaded: &catalog::Loaded) -> anyhow::Result<HashMap<String, String>> {
        let rels: Vec<String> = self
            .files()
            .into_iter()
            .filter_map(|f| match f {
                FileRef::Local(rel) => Some(rel),
                FileRef::Url(_) => None,
            })
            .collect();
        let (digests, _, _) = crate::hashing::hash_with_known_stats(
            &loaded.catalog.dir,
            &rels,
            &HashMap::new(),
            crate::hashing::default_threads(),
            &loaded.file_meta,
        )
        .context("hashing the files of the probe's throwaway course")?;
        Ok(digests)
    }
}

struct Run<'a> {
    /// What `platform-facts.toml` settles (the assumptions the probe tests).
    known: KnownFacts,
    client: Client,
    config: ClientConfig,
    settings: Settings,
    options: Options,
    progress: &'a (dyn Fn(Step<'_>) + Sync),
    digests: HashMap<String, String>,
}

/// What the listing toggle saw (see the module documentation).
struct Toggle {
    status: Finding,
    codes: Finding,
}

impl Run<'_> {
    async fn all(&self, template: &Template) -> anyhow::Result<Report> {
        let mut findings = Vec::new();
        let mut throwaways: Vec<(String, i64)> = Vec::new();
        let course_id = template.course.course_id.clone();
        let ListingCodes {
            list: list_a,
            delist: delist_a,
        } = match self.assumed(OpenFact::ModifyStatusCodes) {
            FactValue::ListingCodes(c) => c,
            _ => ListingCodes::ASSUMED,
        };

        let added = self.add_template(template).await;
        let (echo, dedupe, toggle) = match added {
            Err(why) => {
                let why = format!("the throwaway course could not be added: {why}");
                (
                    self.unsettled(OpenFact::QueryEchoesCourse, &why),
                    self.unsettled(OpenFact::AddRepeatAnswers10140, &why),
                    Toggle {
                        status: self.unsettled(OpenFact::QueryStatusMeansListing, &why),
                        codes: self.unsettled(OpenFact::ModifyStatusCodes, &why),
                    },
                )
            }
            Ok((product, first)) => {
                throwaways.push((course_id.clone(), first));
                (self.progress)(Step::Created {
                    course_id: &course_id,
                    product_id: first,
                });
                let echo = self.echo(&product, first).await;
                self.report(&echo);
                let (dedupe, second) = self.repeat_add(&product, first).await;
                self.report(&dedupe);
                if let Some(second) = second {
                    throwaways.push((course_id.clone(), second));
                    (self.progress)(Step::Created {
                        course_id: &course_id,
                        product_id: second,
                    });
                }
                let toggle = self.toggle(first, list_a, delist_a).await;
                (echo, dedupe, toggle)
            }
        };
        self.report(&toggle.status);
        self.report(&toggle.codes);
        findings.extend([echo, dedupe, toggle.status.clone(), toggle.codes.clone()]);
        let types = self.resource_types(template).await;
        self.report(&types);
        findings.push(types);
        let token = self.token().await;
        self.report(&token);
        findings.push(token);

        let delist = match toggle.codes.observed {
            Some(FactValue::ListingCodes(c)) => c.delist,
            _ => delist_a,
        };
        let mut ended = Vec::new();
        for (course_id, product_id) in throwaways {
            let end = self.clean_up(product_id, delist).await;
            let t = Throwaway {
                course_id,
                product_id,
                end,
            };
            (self.progress)(Step::Ended(&t));
            ended.push(t);
        }
        findings.sort_by_key(|f| f.fact);
        Ok(Report {
            platform: String::new(),
            started: String::new(),
            findings,
            throwaways: ended,
            written: None,
        })
    }

    fn report(&self, finding: &Finding) {
        (self.progress)(Step::Settled(finding));
    }

    /// Uploads the template's files and adds it; (the product sent, its product id).
    async fn add_template(&self, template: &Template) -> Result<(wire::Product, i64), String> {
        let uses = template.course.file_uses();
        (self.progress)(Step::Uploading { files: uses.len() });
        let mut uris: HashMap<(String, i64), String> = HashMap::new();
        for u in uses {
            let (key, uri) = self.upload(&u.file, u.resource_type).await?;
            uris.insert((key, u.resource_type), uri);
        }
        let payload = canonical::payload(&template.course, &self.digests);
        let product = request::product(
            &payload,
            &template.course.course_id,
            &self.settings.appid,
            &|key, rt| uris.get(&(key.to_owned(), rt)).cloned(),
        )
        .map_err(|e| e.to_string())?;
        let added = self.client.add(&product).await.map_err(|e| {
            if e.maybe_performed() {
                format!(
                    "{e} (its answer was lost: {} may exist; look for it in the console and \
                     delist it)",
                    template.course.course_id
                )
            } else {
                e.to_string()
            }
        })?;
        Ok((product, added.product_id))
    }

    /// Offers `file` as `resource_type` and waits for the pull; (resource key, uri).
    async fn upload(&self, file: &FileRef, resource_type: i64) -> Result<(String, String), String> {
        let value = canonical::file_value(file, &self.digests);
        let key = canonical::resource_key(&value);
        let (source, is_url) = match file {
            FileRef::Local(rel) => (rel.clone(), false),
            FileRef::Url(url) => (url.clone(), true),
        };
        let up = Upload {
            key: key.clone(),
            resource_type,
            source: source.clone(),
            is_url,
            needed_by: Vec::new(),
        };
        let url = crate::apply::offered_url(self.settings.assets_base_url.as_deref(), &up)?;
        let uploaded = self
            .client
            .upload_resource(resource_type, &url, None)
            .await
            .map_err(|e| e.to_string())?;
        match self.pulled(&uploaded.uri).await {
            Ok(()) => Ok((key, uploaded.uri)),
            Err(why) => Err(format!("{source}: {why}")),
        }
    }

    /// Waits (bounded) until the platform has pulled `uri`.
    async fn pulled(&self, uri: &str) -> Result<(), String> {
        let deadline = Instant::now() + self.options.timeout;
        let mut delay = Duration::from_millis(50);
        loop {
            let status = self
                .client
                .query_resource_status(uri)
                .await
                .map_err(|e| e.to_string())?;
            if status == resource_status::DONE {
                return Ok(());
            }
            if status == resource_status::FAILED {
                return Err("the platform could not pull the file (status 3)".into());
            }
            if Instant::now() + delay > deadline {
                return Err(format!(
                    "the pull did not finish within {}s",
                    self.options.timeout.as_secs()
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// The version `query` shows for `product_id` (the one under review, else the live one).
    async fn queried_version(&self, product_id: i64) -> Result<Option<Value>, PlatformError> {
        let products = self.client.query_json(&[product_id]).await?;
        Ok(products.into_iter().find_map(|p| {
            ["product_reviewing", "product_on_shelf"]
                .iter()
                .filter_map(|k| p.get(*k).filter(|v| v.is_object()))
                .find(|v| id_of(v.get("product_id")) == Some(product_id))
                .cloned()
        }))
    }

    async fn echo(&self, product: &wire::Product, product_id: i64) -> Finding {
        let name = OpenFact::QueryEchoesCourse;
        let sent = match serde_json::to_value(product) {
            Ok(v) => v,
            Err(e) => {
                return self.unsettled(name, &format!("the sent course cannot be read back: {e}"));
            }
        };
        let version = match self.queried_version(product_id).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                return self.unsettled(
                    name,
                    &format!("query did not return product {product_id} right after add"),
                );
            }
            Err(e) => return self.unsettled(name, &format!("query failed: {e}")),
        };
        let mut missing = Vec::new();
        let mut common = sent["common_product_params"].clone();
        if let Some(m) = common.as_object_mut() {
            m.remove("appid");
        }
        missing_fields(
            &common,
            version.get("common_product_info").unwrap_or(&Value::Null),
            "",
            &mut missing,
        );
        missing_fields(
            &sent["course_params"],
            version.get("course_info").unwrap_or(&Value::Null),
            "course_info.",
            &mut missing,
        );
        let observed = missing.is_empty();
        let how = if observed {
            format!("query of product {product_id} right after add carried every field sent")
        } else {
            let shown: Vec<&str> = missing.iter().take(6).map(String::as_str).collect();
            format!(
                "query of product {product_id} right after add lacked {} field(s) sent: {}{}",
                missing.len(),
                shown.join(", "),
                if missing.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            )
        };
        self.settled(name, FactValue::Bool(observed), how)
    }

    /// Adds the same course again; the finding, and the second product if one was made.
    async fn repeat_add(&self, product: &wire::Product, first: i64) -> (Finding, Option<i64>) {
        let name = OpenFact::AddRepeatAnswers10140;
        match self.client.add(product).await {
            Err(PlatformError::AlreadyInReview { product_id, .. }) if product_id == first => (
                self.settled(
                    name,
                    FactValue::Bool(true),
                    format!("a repeated add of the same course was answered 10140/10141 naming product {first}"),
                ),
                None,
            ),
            Err(PlatformError::AlreadyInReview { product_id, .. }) => (
                self.unsettled(
                    name,
                    &format!("a repeated add was answered 10140/10141 naming product {product_id}, not {first}"),
                ),
                None,
            ),
            Ok(added) if added.product_id != first => (
                self.settled(
                    name,
                    FactValue::Bool(false),
                    format!(
                        "a repeated add of the same course made a second product {} beside {first}",
                        added.product_id
                    ),
                ),
                Some(added.product_id),
            ),
            Ok(added) => (
                self.unsettled(
                    name,
                    &format!("a repeated add answered success with the same product {}", added.product_id),
                ),
                None,
            ),
            Err(e) if e.maybe_performed() => (
                self.unsettled(
                    name,
                    &format!(
                        "the repeated add's answer was lost ({e}): a second product of {} may \
                         exist; look for it in the console and delist it",
                        product.common_product_params.path_info_lst.first().and_then(|p| p.query.get("course_id")).map_or("the throwaway course", String::as_str)
                    ),
                ),
                None,
            ),
            Err(e) => (self.unsettled(name, &format!("the repeated add failed: {e}")), None),
        }
    }

    /// Waits (bounded) for the audit of `product_id`: `Ok(true)` approved, `Ok(false)` rejected,
    /// `Err` still in review (or unreadable) at the deadline.
    async fn audited(&self, product_id: i64) -> Result<bool, String> {
        (self.progress)(Step::Waiting { product_id });
        let deadline = Instant::now() + self.options.timeout;
        let mut delay = Duration::from_millis(100);
        loop {
            let reviews = self
                .client
                .query_review(&[product_id])
                .await
                .map_err(|e| e.to_string())?;
            let status = reviews
                .get(&product_id)
                .and_then(|r| r.course.as_ref())
                .and_then(|c| c.status);
            match status {
                Some(review_status::PASSED) => return Ok(true),
                Some(review_status::REJECTED) => return Ok(false),
                _ => {}
            }
            if Instant::now() + delay > deadline {
                return Err(format!(
                    "still in review after {}s",
                    self.options.timeout.as_secs()
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// `product_status.status` of the live version of `product_id`.
    async fn live_status(&self, product_id: i64) -> Result<Option<i64>, PlatformError> {
        let products = self.client.query_json(&[product_id]).await?;
        Ok(products.iter().find_map(|p| {
            let live = p.get("product_on_shelf")?;
            (id_of(live.get("product_id")) == Some(product_id))
                .then(|| id_of(live.get("product_status")?.get("status")))
                .flatten()
        }))
    }

    async fn toggle(&self, product_id: i64, list_a: i64, delist_a: i64) -> Toggle {
        let both = |why: &str| Toggle {
            status: self.unsettled(OpenFact::QueryStatusMeansListing, why),
            codes: self.unsettled(OpenFact::ModifyStatusCodes, why),
        };
        match self.audited(product_id).await {
            Ok(true) => {}
            Ok(false) => {
                return both(&format!(
                    "the throwaway product {product_id} was rejected at audit, so nothing went live"
                ));
            }
            Err(why) => return both(&format!("the throwaway product {product_id} is {why}")),
        }
        let read = async || self.live_status(product_id).await.ok().flatten();
        let Some(q0) = read().await else {
            return both(&format!(
                "query shows no product_status.status for the live product {product_id}"
            ));
        };
        let sent_delist = self.client.modify_status_code(product_id, delist_a).await;
        let q1 = read().await;
        let sent_list = self.client.modify_status_code(product_id, list_a).await;
        let q2 = read().await;
        let refused = [(delist_a, &sent_delist), (list_a, &sent_list)]
            .into_iter()
            .find_map(|(code, r)| match r {
                Err(PlatformError::Api {
                    err_no, err_msg, ..
                }) => Some(format!(
                    "modify_status {code} was refused ({err_no}: {err_msg})"
                )),
                _ => None,
            });
        if let Some(why) = refused {
            return Toggle {
                status: self.unsettled(
                    OpenFact::QueryStatusMeansListing,
                    &format!("the listing could not be toggled: {why}"),
                ),
                codes: Finding {
                    fact: OpenFact::ModifyStatusCodes,
                    assumed: self.assumed(OpenFact::ModifyStatusCodes),
                    observed: None,
                    verdict: Verdict::Contradicted,
                    how: why,
                },
            };
        }
        if let Some(Err(e)) = [&sent_delist, &sent_list].into_iter().find(|r| r.is_err()) {
            return both(&format!("modify_status failed: {e}"));
        }
        let (Some(q1), Some(q2)) = (q1, q2) else {
            return both(
                "query stopped showing product_status.status while the listing was toggled",
            );
        };
        let seen = format!(
            "product {product_id} approved (listed) showed status {q0}; after modify_status \
             {delist_a}: {q1}; after modify_status {list_a}: {q2}"
        );
        let codes = |list: i64, delist: i64| FactValue::ListingCodes(ListingCodes { list, delist });
        if q1 != q0 && q2 == q0 {
            Toggle {
                status: self.settled(
                    OpenFact::QueryStatusMeansListing,
                    FactValue::Bool(true),
                    seen.clone(),
                ),
                codes: self.settled(OpenFact::ModifyStatusCodes, codes(list_a, delist_a), seen),
            }
        } else if q1 == q0 && q2 != q0 {
            Toggle {
                status: self.settled(
                    OpenFact::QueryStatusMeansListing,
                    FactValue::Bool(true),
                    seen.clone(),
                ),
                codes: self.settled(OpenFact::ModifyStatusCodes, codes(delist_a, list_a), seen),
            }
        } else if q0 == q1 && q1 == q2 {
            Toggle {
                status: self.settled(
                    OpenFact::QueryStatusMeansListing,
                    FactValue::Bool(false),
                    seen.clone(),
                ),
                codes: self.unsettled(
                    OpenFact::ModifyStatusCodes,
                    &format!(
                        "both codes were accepted, but the platform reports no listing to see \
                         their effect ({seen})"
                    ),
                ),
            }
        } else {
            both(&format!("the status moved in no readable way ({seen})"))
        }
    }

    async fn resource_types(&self, template: &Template) -> Finding {
        let name = OpenFact::UploadResourceTypes;
        let assumed_types = self.assumed(name);
        let types = match assumed_types {
            FactValue::ResourceTypes(t) => t,
            _ => ResourceTypes::ASSUMED,
        };
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut unknown = Vec::new();
        for (kind, file) in &template.kinds {
            let code = match *kind {
                "audio" => types.audio,
                "pdf" => types.pdf,
                _ => types.office,
            };
            let Some(file) = file else {
                unknown.push(format!(
                    "{kind}: the catalog has no {kind} lesson file to try"
                ));
                continue;
            };
            match self.upload(file, code).await {
                Ok(_) => accepted.push(format!("{kind} {code}")),
                Err(why) if why.contains("platform error") => {
                    refused.push(format!("{kind} {code} refused ({why})"));
                }
                Err(why) => unknown.push(format!("{kind} {code}: {why}")),
            }
        }
        if !refused.is_empty() {
            return Finding {
                fact: name,
                assumed: assumed_types,
                observed: None,
                verdict: Verdict::Contradicted,
                how: format!("upload_resource: {}", refused.join("; ")),
            };
        }
        if !unknown.is_empty() {
            let mut how = unknown.join("; ");
            if !accepted.is_empty() {
                how = format!("accepted and pulled: {}; {how}", accepted.join(", "));
            }
            return self.unsettled(name, &how);
        }
        self.settled(
            name,
            assumed_types,
            format!(
                "upload_resource accepted and pulled catalog files as {}",
                accepted.join(", ")
            ),
        )
    }

    async fn token(&self) -> Finding {
        let name = OpenFact::TokenNewRevokesOld;
        let Some(secret) = self.settings.app_secret.clone() else {
            return self.unsettled(
                name,
                "needs COURSESYNC_APP_SECRET: a ready token cannot fetch another",
            );
        };
        let fetch = async || -> Result<Secret, PlatformError> {
            let source = TokenSource::new(
                reqwest::Client::new(),
                &self.config.token_base,
                &self.config.appid,
                None,
                Some(secret.clone()),
                self.config.request_timeout,
                crate::platform::renewal::RENEWAL_BUDGET,
            );
            Ok(source.get().await?.token)
        };
        let first = match fetch().await {
            Ok(t) => t,
            Err(e) => return self.unsettled(name, &format!("fetching a token failed: {e}")),
        };
        let with_first = match Client::new(ClientConfig {
            access_token: Some(first),
            app_secret: None,
            ..self.config.clone()
        }) {
            Ok(c) => c,
            Err(e) => return self.unsettled(name, &e.to_string()),
        };
        if let Err(e) = with_first.query_class_info().await {
            return self.unsettled(name, &format!("a call with a fresh token failed: {e}"));
        }
        if let Err(e) = fetch().await {
            return self.unsettled(name, &format!("fetching a second token failed: {e}"));
        }
        match with_first.query_class_info().await {
            Ok(_) => self.settled(
                name,
                FactValue::Bool(false),
                "a token still worked right after another was fetched".into(),
            ),
            Err(PlatformError::Token { .. }) => self.settled(
                name,
                FactValue::Bool(true),
                "a token was refused (10001) right after another was fetched".into(),
            ),
            Err(e) => self.unsettled(
                name,
                &format!("the call with the first token after fetching another failed: {e}"),
            ),
        }
    }

    /// Delists `product_id` once approved (waiting, bounded, while it is in review).
    async fn clean_up(&self, product_id: i64, delist: i64) -> End {
        match self.audited(product_id).await {
            Ok(false) => End::Rejected,
            Err(why) => End::Left(why),
            Ok(true) => match self.client.modify_status_code(product_id, delist).await {
                Ok(()) => End::Delisted(delist),
                Err(e) => End::Left(format!("delisting failed: {e}")),
            },
        }
    }
}

impl Run<'_> {
    fn assumed(&self, fact: OpenFact) -> FactValue {
        assumed(&self.known, fact)
    }

    /// A finding with an observation; the verdict compares it with the assumption.
    fn settled(&self, fact: OpenFact, observed: FactValue, how: String) -> Finding {
        let assumed = self.assumed(fact);
        let verdict = if observed == assumed {
            Verdict::Confirmed
        } else {
            Verdict::Contradicted
        };
        Finding {
            fact,
            assumed,
            observed: Some(observed),
            verdict,
            how,
        }
    }

    fn unsettled(&self, fact: OpenFact, why: &str) -> Finding {
        Finding {
            fact,
            assumed: self.assumed(fact),
            observed: None,
            verdict: Verdict::Unsettled,
            how: why.to_owned(),
        }
    }
}

/// An id sent as a number or a numeric string (platform-api.md §3).
fn id_of(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The response-side name of a request field (platform-api.md §5.5).
fn echoed_key(key: &str) -> String {
    match key {
        "product_img_uri" => "product_img_url".into(),
        "qualification_uris" => "qualification_urls".into(),
        "fulfillment_uri" => "fulfillment_url".into(),
        "img_uri" => "img_url".into(),
        "uri" => "url".into(),
        other => other.into(),
    }
}

/// Appends to `missing` the path of every leaf of `sent` that `echoed` does not carry.
fn missing_fields(sent: &Value, echoed: &Value, path: &str, missing: &mut Vec<String>) {
    match sent {
        Value::Object(m) => {
            for (k, v) in m {
                if v.is_null() {
                    continue;
                }
                let key = echoed_key(k);
                let at = format!("{path}{key}");
                match echoed.get(&key).filter(|e| !e.is_null()) {
                    Some(e) => missing_fields(v, e, &format!("{at}."), missing),
                    None => missing.push(at),
                }
            }
        }
        Value::Array(items) => {
            let base = path.trim_end_matches('.');
            for (i, v) in items.iter().enumerate() {
                let at = format!("{base}[{i}]");
                match echoed.get(i).filter(|e| !e.is_null()) {
                    Some(e) => missing_fields(v, e, &format!("{at}."), missing),
                    None if v.is_null() => {}
                    None => missing.push(at),
                }
            }
        }
        _ => {}
    }
}

/// Writes `platform-facts.toml` beside the settings file: every observed fact, with a comment
/// saying when and how it was observed; a fact the probe could not tell keeps the value the file
/// had (saying so), unless the probe contradicted that value, which then leaves the fact out
/// (unsettled).
fn write_facts(settings: &Settings, report: &Report) -> anyhow::Result<PathBuf> {
    let path = settings.facts_path();
    let mut recorded = Vec::new();
    for f in &report.findings {
        let note = match (&f.observed, settings.facts.get(f.fact), f.verdict) {
            (Some(value), _, _) => Some((
                *value,
                format!(
                    "Observed by `coursesync probe` on {} at {}:\n{}.",
                    report.platform, report.started, f.how
                ),
            )),
            (None, Some(kept), Verdict::Unsettled) => Some((
                kept,
                format!(
                    "Set before; `coursesync probe` on {} at {} could not tell:\n{}.",
                    report.platform, report.started, f.how
                ),
            )),
            (None, _, _) => None,
        };
        if let Some((value, note)) = note {
            recorded.push(Recorded {
                fact: f.fact,
                value,
                note,
            });
        }
    }
    known::write_file(&path, &recorded).map_err(|e| {
        let hint = e.hint();
        crate::error::with_hint(anyhow::Error::new(e), hint)
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_fields_follow_response_side_names() {
        let sent = json!({"title": "t", "product_img_uri": "u", "price_info": {"price": 1, "real_price": 1},
                          "product_fulfillment_lst": [{"fulfillment_content": {"fulfillment_uri": "x", "name": "n"}}],
                          "gift_info": null});
        let echoed = json!({"title": "t", "product_img_url": "http://e/u", "price_info": {"price": 1},
                            "product_fulfillment_lst": [{"fulfillment_content": {"fulfillment_url": "http://e/x"}}]});
        let mut missing = Vec::new();
        missing_fields(&sent, &echoed, "", &mut missing);
        assert_eq!(
            missing,
            [
                "price_info.real_price",
                "product_fulfillment_lst[0].fulfillment_content.name"
            ]
        );
        let mut none = Vec::new();
        missing_fields(&echoed, &echoed, "", &mut none);
        assert!(none.is_empty(), "{none:?}");
    }
}
