//! Which URLs may stand for a hosted file.

/// A URL accepted for a hosted file: any `https://` URL with a host, and an `http://` URL whose
/// host is loopback (`127.0.0.1`, `localhost`, `[::1]`), which is where the emulator
/// (`environment = "local"`, tests) serves the files `dump` names. `None` otherwise.
pub fn hosted_url(s: &str) -> Option<url::Url> {
    let parsed = url::Url::parse(s).ok()?;
    let ok = match (parsed.scheme(), parsed.host()?) {
        ("https", _) => true,
        ("http", url::Host::Domain(d)) => d == "localhost",
        ("http", url::Host::Ipv4(ip)) => ip.is_loopback(),
        ("http", url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    ok.then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::hosted_url;

    #[test]
    fn http_only_on_loopback_hosts() {
        assert_eq!(
            hosted_url("https://cdn.example.com/a.jpg").map(|u| u.path().to_string()),
            Some("/a.jpg".to_string())
        );
        for ok in [
            "http://127.0.0.1:4000/obj/product/resource/1",
            "http://127.0.0.1/a.jpg",
            "http://localhost:80/a.jpg",
            "http://[::1]:4000/obj/x",
            "http://127.9.9.9/x",
        ] {
            assert!(hosted_url(ok).is_some(), "{ok}");
        }
        for bad in [
            "http://cdn.example.com/a.jpg",
            "http://127.0.0.1.evil.com/a.jpg",
            "http://127.0.0.1@evil.com/a.jpg",
            "http://localhost.evil.com/a.jpg",
            "http://10.0.0.1/a.jpg",
            "ftp://127.0.0.1/a.jpg",
            "assets/a.jpg",
            "https://",
        ] {
            assert_eq!(hosted_url(bad), None, "{bad}");
        }
    }
}
