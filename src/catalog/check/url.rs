//! Which URLs may stand for a hosted file.

/// What follows the scheme of a URL accepted for a hosted file: any `https://` URL, and an
/// `http://` URL whose host is loopback (`127.0.0.1`, `localhost`, `[::1]`), which is where the
/// emulator (`environment = "local"`, tests) serves the files `dump` names. `None` otherwise.
pub fn hosted_url_rest(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix("https://") {
        return Some(rest);
    }
    let rest = s.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()))
    .then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::hosted_url_rest;

    #[test]
    fn http_only_on_loopback_hosts() {
        assert_eq!(
            hosted_url_rest("https://cdn.example.com/a.jpg"),
            Some("cdn.example.com/a.jpg")
        );
        for ok in [
            "http://127.0.0.1:4000/obj/product/resource/1",
            "http://127.0.0.1/a.jpg",
            "http://localhost:80/a.jpg",
            "http://[::1]:4000/obj/x",
            "http://127.9.9.9/x",
        ] {
            assert!(hosted_url_rest(ok).is_some(), "{ok}");
        }
        for bad in [
            "http://cdn.example.com/a.jpg",
            "http://127.0.0.1.evil.com/a.jpg",
            "http://127.0.0.1@evil.com/a.jpg",
            "http://localhost.evil.com/a.jpg",
            "http://10.0.0.1/a.jpg",
            "ftp://127.0.0.1/a.jpg",
            "assets/a.jpg",
        ] {
            assert_eq!(hosted_url_rest(bad), None, "{bad}");
        }
    }
}
