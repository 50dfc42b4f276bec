//! The field rules: one method per part of a course file (platform-api.md §5.1, seed 003).

use super::{
    BTreeMap, Checker, CourseParams, Delivery, Detail, Gift, Lesson, LessonKind, Num, Page, Price,
    PriceForm, RawCourseParams, RawDetail, RawGift, RawLesson, RawPage, RawPrice, Refund, S,
    categories, codes, limits, rules,
};

impl Checker<'_> {
    /// course_id: 1..=128 bytes (seed 003 path_info).
    pub(super) fn course_id(&mut self, value: Option<&S<String>>) -> Option<String> {
        let v = self.required(value, "course_id", &(0..0))?;
        let len = v.get_ref().len();
        if len == 0 || len > limits::COURSE_ID_BYTES {
            self.push(
                rules::COURSE_ID_LENGTH,
                v.span(),
                format!(
                    "course_id is {len} bytes; it must be 1 to {} bytes",
                    limits::COURSE_ID_BYTES
                ),
            );
            return None;
        }
        Some(v.get_ref().clone())
    }

    /// Category codes against the offline table: unknown codes warn, a known pair that does not
    /// belong together is an error.
    pub(super) fn category(&mut self, first: &S<i64>, second: &S<i64>) {
        let (f, s) = (*first.get_ref(), *second.get_ref());
        if !categories::is_known_first(f) {
            let near = categories::nearest_first(f);
            self.push_hint(
                rules::CATEGORY_UNKNOWN,
                first.span(),
                format!("first_class {f} is not a known category code"),
                format!("the nearest known code is {near}; the platform's query_class_info is authoritative"),
            );
        }
        match categories::parent_of(s) {
            Some(parent) if parent != f && categories::is_known_first(f) => self.push_hint(
                rules::CATEGORY_MISMATCH,
                second.span(),
                format!("second_class {s} belongs to first_class {parent}, not {f}"),
                format!("set first_class = {parent}"),
            ),
            Some(_) => {}
            None => {
                let near = categories::nearest_second(f, s);
                self.push_hint(
                    rules::CATEGORY_UNKNOWN,
                    second.span(),
                    format!("second_class {s} is not a known category code"),
                    format!("the nearest known code is {near}; the platform's query_class_info is authoritative"),
                );
            }
        }
    }

    pub(super) fn int(&mut self, value: &S<Num>, field: &str) -> Option<i64> {
        match value.get_ref() {
            Num::Int(i) => Some(*i),
            Num::Float(f) => {
                self.push(
                    rules::PRICE_INTEGER,
                    value.span(),
                    format!("`{field}` is {f}; prices are whole numbers of fen"),
                );
                None
            }
        }
    }

    /// price_info: one price form, integer fen, the documented bounds (seed 003).
    pub(super) fn price(&mut self, p: &S<RawPrice>) -> Option<Price> {
        let span = p.span();
        let p = p.get_ref();
        let unit = self.text(p.unit.as_ref(), "price.unit", &span);
        let price_v = self.required(p.price.as_ref(), "price.price", &span);
        let price = price_v.and_then(|v| self.int(v, "price.price"));
        let real = p
            .real_price
            .as_ref()
            .map(|v| (v, self.int(v, "price.real_price")));
        let min = p
            .range_min_price
            .as_ref()
            .map(|v| (v, self.int(v, "price.range_min_price")));
        let max = p
            .range_max_price
            .as_ref()
            .map(|v| (v, self.int(v, "price.range_max_price")));
        let form = match (real, min, max) {
            (Some((rv, r)), None, None) => {
                let (r, price) = (r?, price?);
                if !(0 < r && r <= price && price <= limits::PRICE_MAX) {
                    let at = if r <= 0 || r > price {
                        rv.span()
                    } else {
                        price_v?.span()
                    };
                    self.push(
                        rules::PRICE_BOUNDS,
                        at,
                        format!(
                            "real_price {r} and price {price} break 0 < real_price <= price <= {}",
                            limits::PRICE_MAX
                        ),
                    );
                    return None;
                }
                PriceForm::Fixed { real_price: r }
            }
            (None, Some((minv, lo)), Some((maxv, hi))) => {
                let (lo, hi, price) = (lo?, hi?, price?);
                if !(0 < lo && lo <= price && price <= hi && hi <= limits::PRICE_MAX) {
                    let at = if lo <= 0 || lo > price {
                        minv.span()
                    } else if hi < price || hi > limits::PRICE_MAX {
                        maxv.span()
                    } else {
                        price_v?.span()
                    };
                    self.push(
                        rules::PRICE_RANGE_BOUNDS,
                        at,
                        format!(
                            "range_min_price {lo}, price {price}, range_max_price {hi} break 0 < range_min_price <= price <= range_max_price <= {}",
                            limits::PRICE_MAX
                        ),
                    );
                    return None;
                }
                PriceForm::Range { min: lo, max: hi }
            }
            (None, None, None) => {
                self.push(
                    rules::PRICE_FORM,
                    span,
                    "[price] needs real_price, or range_min_price and range_max_price",
                );
                return None;
            }
            (real, min, max) => {
                let at = real.or(min).or(max).map_or(span, |(v, _)| v.span());
                let message = if real.is_some() {
                    "real_price cannot be combined with range_min_price/range_max_price"
                } else {
                    "range_min_price and range_max_price go together"
                };
                self.push(rules::PRICE_FORM, at, message);
                return None;
            }
        };
        Some(Price {
            unit: unit?,
            price: price?,
            form,
        })
    }

    /// path_info: path without leading '/', <= 255 bytes; query keys <= 64 B, values <= 128 B;
    /// course_id is added by coursesync (seed 003 path_info).
    pub(super) fn page(&mut self, p: &S<RawPage>) -> Option<Page> {
        let span = p.span();
        let p = p.get_ref();
        let path = self.required(p.path.as_ref(), "page.path", &span);
        let mut ok = true;
        if let Some(path) = path {
            let s = path.get_ref();
            if s.starts_with('/') {
                self.push(
                    rules::PATH_LEADING_SLASH,
                    path.span(),
                    format!("page.path {s:?} starts with '/'"),
                );
                ok = false;
            }
            if s.is_empty() || s.len() > limits::PATH_BYTES {
                self.push(
                    rules::PATH_LENGTH,
                    path.span(),
                    format!(
                        "page.path is {} bytes; it must be 1 to {}",
                        s.len(),
                        limits::PATH_BYTES
                    ),
                );
                ok = false;
            }
        }
        let mut query = BTreeMap::new();
        if let Some(q) = &p.query {
            for (k, v) in q.get_ref() {
                let (key, value) = (k.get_ref(), v.get_ref());
                if key == "course_id" {
                    self.push(
                        rules::QUERY_COURSE_ID,
                        k.span(),
                        "page.query sets course_id, which coursesync adds itself",
                    );
                    ok = false;
                } else if key.is_empty() || key.len() > limits::QUERY_KEY_BYTES {
                    self.push(
                        rules::QUERY_KEY_LENGTH,
                        k.span(),
                        format!(
                            "query key {key:?} is {} bytes; it must be 1 to {}",
                            key.len(),
                            limits::QUERY_KEY_BYTES
                        ),
                    );
                    ok = false;
                }
                if value.is_empty() || value.len() > limits::QUERY_VALUE_BYTES {
                    self.push(
                        rules::QUERY_VALUE_LENGTH,
                        v.span(),
                        format!(
                            "query value of {key:?} is {} bytes; it must be 1 to {}",
                            value.len(),
                            limits::QUERY_VALUE_BYTES
                        ),
                    );
                    ok = false;
                }
                query.insert(key.clone(), value.clone());
            }
        }
        let path = path?.get_ref().clone();
        ok.then_some(Page { path, query })
    }

    pub(super) fn lessons(
        &mut self,
        lessons: Option<&S<Vec<S<RawLesson>>>>,
    ) -> Option<Vec<Lesson>> {
        let lessons = self.required(lessons, "lessons", &(0..0))?;
        if lessons.get_ref().is_empty() {
            self.push(
                rules::LESSONS_EMPTY,
                lessons.span(),
                "the course has no lessons",
            );
            return None;
        }
        let out: Vec<Option<Lesson>> = lessons.get_ref().iter().map(|l| self.lesson(l)).collect();
        out.into_iter().collect()
    }

    /// A lesson: a known type, and `file` or `text` as the type's delivery requires.
    pub(super) fn lesson(&mut self, l: &S<RawLesson>) -> Option<Lesson> {
        let span = l.span();
        let l = l.get_ref();
        let name = self.text(l.name.as_ref(), "lessons[].name", &span);
        let kind_v = self.required(l.kind.as_ref(), "lessons[].type", &span)?;
        let Some(kind) = LessonKind::from_name(kind_v.get_ref()) else {
            let hint = match codes::nearest(kind_v.get_ref(), &LessonKind::names()) {
                Some(n) => format!("did you mean \"{n}\"? {}", rules::LESSON_TYPE.hint),
                None => rules::LESSON_TYPE.hint.to_string(),
            };
            self.push_hint(
                rules::LESSON_TYPE,
                kind_v.span(),
                format!("unknown lesson type {:?}", kind_v.get_ref()),
                hint,
            );
            return None;
        };
        let row = kind.row();
        let (file, text) = match row.delivery {
            Delivery::Upload => {
                let file = match &l.file {
                    Some(f) => self.file_ref(f, row.extensions, &format!("{} lessons", row.name)),
                    None => {
                        self.push(
                            rules::LESSON_CONTENT,
                            kind_v.span(),
                            format!("a {} lesson needs `file`", row.name),
                        );
                        None
                    }
                };
                if kind != LessonKind::ImageText
                    && let Some(t) = &l.text
                {
                    self.push(
                        rules::LESSON_CONTENT,
                        t.span(),
                        format!("a {} lesson takes `file`, not `text`", row.name),
                    );
                    return None;
                }
                let text = match &l.text {
                    Some(t) if t.get_ref().trim().is_empty() => {
                        self.push(rules::EMPTY_TEXT, t.span(), "lesson text must not be empty");
                        return None;
                    }
                    Some(t) => Some(self.text_len(t, kind)?),
                    None => None,
                };
                (Some(file?), text)
            }
            Delivery::Inline => {
                if let Some(f) = &l.file {
                    self.push(
                        rules::LESSON_CONTENT,
                        f.span(),
                        format!(
                            "a {} lesson is sent inline: use `text`, not `file`",
                            row.name
                        ),
                    );
                    return None;
                }
                let Some(t) = &l.text else {
                    self.push(
                        rules::LESSON_CONTENT,
                        kind_v.span(),
                        format!("a {} lesson needs `text`", row.name),
                    );
                    return None;
                };
                if t.get_ref().trim().is_empty() {
                    self.push(rules::EMPTY_TEXT, t.span(), "lesson text must not be empty");
                    return None;
                }
                (None, Some(self.text_len(t, kind)?))
            }
        };
        Some(Lesson {
            name: name?,
            kind,
            file,
            text,
        })
    }

    /// Text counts characters, a CJK character 1 (seed 003): <= 10000, rich text <= 100000.
    pub(super) fn text_len(&mut self, t: &S<String>, kind: LessonKind) -> Option<String> {
        let chars = t.get_ref().chars().count();
        let (limit, rule) = if kind == LessonKind::RichText {
            (limits::RICH_TEXT_CHARS, rules::RICH_TEXT_LENGTH)
        } else {
            (limits::TEXT_CHARS, rules::TEXT_LENGTH)
        };
        if chars > limit {
            self.push(
                rule,
                t.span(),
                format!("the text is {chars} characters; at most {limit} are allowed"),
            );
            return None;
        }
        Some(t.get_ref().clone())
    }

    pub(super) fn details(
        &mut self,
        details: Option<&S<Vec<S<RawDetail>>>>,
    ) -> Option<Vec<Detail>> {
        let Some(details) = details else {
            return Some(Vec::new());
        };
        let out: Vec<Option<Detail>> = details.get_ref().iter().map(|d| self.detail(d)).collect();
        out.into_iter().collect()
    }

    /// A detail block: text, image, text with image (图文), or rich_text (seed 003 product_detail).
    pub(super) fn detail(&mut self, d: &S<RawDetail>) -> Option<Detail> {
        let span = d.span();
        let d = d.get_ref();
        let nonempty = |ck: &mut Self, t: &S<String>| {
            if t.get_ref().trim().is_empty() {
                ck.push(rules::EMPTY_TEXT, t.span(), "detail text must not be empty");
                None
            } else {
                Some(())
            }
        };
        match (&d.text, &d.image, &d.rich_text) {
            (Some(t), None, None) => {
                nonempty(self, t)?;
                Some(Detail::Text(self.text_len(t, LessonKind::Text)?))
            }
            (None, Some(i), None) => Some(Detail::Image(self.file_ref(
                i,
                codes::IMAGE_EXTENSIONS,
                "detail images",
            )?)),
            (Some(t), Some(i), None) => {
                nonempty(self, t)?;
                let text = self.text_len(t, LessonKind::Text);
                let image = self.file_ref(i, codes::IMAGE_EXTENSIONS, "detail images");
                Some(Detail::ImageText {
                    text: text?,
                    image: image?,
                })
            }
            (None, None, Some(r)) => {
                nonempty(self, r)?;
                Some(Detail::RichText(self.text_len(r, LessonKind::RichText)?))
            }
            (None, None, None) => {
                self.push(
                    rules::DETAIL_BLOCK,
                    span,
                    "empty [[details]] block: give text, image or rich_text",
                );
                None
            }
            (_, _, Some(r)) => {
                self.push(
                    rules::DETAIL_BLOCK,
                    r.span(),
                    "rich_text cannot share a block with text or image",
                );
                None
            }
        }
    }

    /// anchor_title: display width 1..=24, a CJK character counts 2 (seed 003 anchor_info).
    pub(super) fn anchor_title(&mut self, a: &S<crate::catalog::raw::RawAnchor>) -> Option<String> {
        let t = self.text(a.get_ref().title.as_ref(), "anchor.title", &a.span())?;
        let width = codes::display_width(&t);
        if width > limits::ANCHOR_WIDTH {
            let span = a.get_ref().title.as_ref().map_or(a.span(), S::span);
            self.push(
                rules::ANCHOR_TITLE,
                span,
                format!(
                    "anchor.title is {width} wide; at most {} (a Chinese character counts 2)",
                    limits::ANCHOR_WIDTH
                ),
            );
            return None;
        }
        Some(t)
    }

    /// gift_info (seed 003): type enum, pics <= 8 of <= 256 bytes, policy_desc <= 128 bytes.
    pub(super) fn gift(&mut self, g: &S<RawGift>) -> Option<Gift> {
        let span = g.span();
        let g = g.get_ref();
        let kind = self
            .required(g.kind.as_ref(), "gift.type", &span)
            .and_then(|k| {
                let found = codes::GIFT_KINDS
                    .iter()
                    .find(|(n, _)| n == k.get_ref())
                    .map(|(_, c)| *c);
                if found.is_none() {
                    self.push(
                        rules::GIFT_TYPE,
                        k.span(),
                        format!("unknown gift type {:?}", k.get_ref()),
                    );
                }
                found
            });
        let name = self.text(g.name.as_ref(), "gift.name", &span);
        let num = self
            .required(g.num.as_ref(), "gift.num", &span)
            .and_then(|n| {
                if *n.get_ref() <= 0 {
                    self.push(
                        rules::GIFT_NUM,
                        n.span(),
                        format!("gift.num is {}", n.get_ref()),
                    );
                    None
                } else {
                    Some(*n.get_ref())
                }
            });
        let mut pics = Vec::new();
        let mut pics_ok = true;
        if let Some(p) = &g.pics {
            if p.get_ref().len() > limits::GIFT_PICS {
                self.push(
                    rules::GIFT_PICS,
                    p.span(),
                    format!(
                        "gift.pics has {} entries; at most {}",
                        p.get_ref().len(),
                        limits::GIFT_PICS
                    ),
                );
                pics_ok = false;
            }
            for pic in p.get_ref() {
                let len = pic.get_ref().len();
                if len == 0 || len > limits::GIFT_PIC_BYTES {
                    self.push(
                        rules::GIFT_PICS,
                        pic.span(),
                        format!(
                            "a gift picture URL is {len} bytes; it must be 1 to {}",
                            limits::GIFT_PIC_BYTES
                        ),
                    );
                    pics_ok = false;
                }
                pics.push(pic.get_ref().clone());
            }
        }
        let send_back = self
            .required(
                g.send_back_on_refund.as_ref(),
                "gift.send_back_on_refund",
                &span,
            )
            .map(|b| *b.get_ref());
        let policy_desc = self
            .text(g.policy_desc.as_ref(), "gift.policy_desc", &span)
            .and_then(|d| {
                if d.len() > limits::POLICY_DESC_BYTES {
                    let at = g.policy_desc.as_ref().map_or(span.clone(), S::span);
                    self.push(
                        rules::GIFT_POLICY,
                        at,
                        format!(
                            "gift.policy_desc is {} bytes; at most {}",
                            d.len(),
                            limits::POLICY_DESC_BYTES
                        ),
                    );
                    None
                } else {
                    Some(d)
                }
            });
        if !pics_ok {
            return None;
        }
        Some(Gift {
            kind: kind?,
            name: name?,
            num: num?,
            pics,
            send_back_on_refund: send_back?,
            policy_desc: policy_desc?,
        })
    }

    /// course_params (platform-api.md §5.1).
    pub(super) fn params(&mut self, c: &S<RawCourseParams>) -> Option<CourseParams> {
        let span = c.span();
        let c = c.get_ref();
        let opt_text = |ck: &mut Self, v: &Option<S<String>>, field: &str| match v {
            Some(s) if s.get_ref().trim().is_empty() => {
                ck.push(
                    rules::EMPTY_TEXT,
                    s.span(),
                    format!("`{field}` must not be empty"),
                );
                Err(())
            }
            Some(s) => Ok(Some(s.get_ref().clone())),
            None => Ok(None),
        };
        let teacher_id = opt_text(self, &c.teacher_id, "course.teacher_id");
        let institution_id = opt_text(self, &c.institution_id, "course.institution_id");
        if c.teacher_id.is_none() && c.institution_id.is_none() {
            self.push(
                rules::TEACHER_OR_INSTITUTION,
                span.clone(),
                "[course] needs teacher_id or institution_id",
            );
        }
        let course_num = self
            .required(c.course_num.as_ref(), "course.course_num", &span)
            .and_then(|n| {
                let v = *n.get_ref();
                if (1..=limits::COURSE_NUM_MAX).contains(&v) {
                    Some(v)
                } else {
                    self.push(
                        rules::COURSE_NUM,
                        n.span(),
                        format!(
                            "course_num is {v}; it must be 1 to {}",
                            limits::COURSE_NUM_MAX
                        ),
                    );
                    None
                }
            });
        let refund = match &c.refund {
            None => Ok(None),
            Some(r) => self.refund(r).map(Some).ok_or(()),
        };
        let valid_until = match &c.valid_until {
            None => Ok(None),
            Some(d) => self.date_only(d).map(Some).ok_or(()),
        };
        let start = c
            .start
            .as_ref()
            .map(|d| (d, self.timestamp_ms(d, "course.start")));
        let end = c
            .end
            .as_ref()
            .map(|d| (d, self.timestamp_ms(d, "course.end")));
        if let (Some((_, Some(s))), Some((ev, Some(e)))) = (&start, &end)
            && s >= e
        {
            {
                self.push(
                    rules::START_BEFORE_END,
                    ev.span(),
                    "course.end is not after course.start",
                );
            }
        }
        for (v, ms) in [&start, &end].into_iter().flatten() {
            if matches!(ms, Some(ms) if *ms <= 0) {
                self.push(
                    rules::START_BEFORE_END,
                    v.span(),
                    "the time is not after 1970-01-01",
                );
            }
        }
        Some(CourseParams {
            teacher_id: teacher_id.ok()?,
            institution_id: institution_id.ok()?,
            course_num: course_num?,
            refund: refund.ok()?,
            valid_until: valid_until.ok()?,
            start_ms: match start {
                Some((_, ms)) => Some(ms?),
                None => None,
            },
            end_ms: match end {
                Some((_, ms)) => Some(ms?),
                None => None,
            },
        })
    }

    /// refund_label: exactly one form; days 1..=100, percent 0..=100, fixed id > 0.
    pub(super) fn refund(&mut self, r: &S<crate::catalog::raw::RawRefund>) -> Option<Refund> {
        let span = r.span();
        let r = r.get_ref();
        match (&r.days_unused, &r.progress_below_percent, &r.fixed) {
            (Some(d), None, None) => {
                let v = *d.get_ref();
                if (1..=limits::REFUND_DAYS_MAX).contains(&v) {
                    return Some(Refund::DaysUnused(v));
                }
                self.push(
                    rules::REFUND_DAYS,
                    d.span(),
                    format!(
                        "days_unused is {v}; it must be 1 to {}",
                        limits::REFUND_DAYS_MAX
                    ),
                );
            }
            (None, Some(p), None) => {
                let v = *p.get_ref();
                if (0..=limits::REFUND_PERCENT_MAX).contains(&v) {
                    return Some(Refund::ProgressBelowPercent(v));
                }
                self.push(
                    rules::REFUND_PERCENT,
                    p.span(),
                    format!(
                        "progress_below_percent is {v}; it must be 0 to {}",
                        limits::REFUND_PERCENT_MAX
                    ),
                );
            }
            (None, None, Some(f)) => {
                let v = *f.get_ref();
                if v > 0 {
                    return Some(Refund::Fixed(v));
                }
                self.push(
                    rules::REFUND_FIXED,
                    f.span(),
                    format!("fixed is {v}; it must be a positive rule id"),
                );
            }
            _ => self.push(
                rules::REFUND_FORM,
                span,
                "course.refund needs exactly one of days_unused, progress_below_percent, fixed",
            ),
        }
        None
    }
}
