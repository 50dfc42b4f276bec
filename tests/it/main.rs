mod platform;
mod smoke { #[test] fn builds() {} }
