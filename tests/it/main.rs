mod emulator;
mod smoke {
    #[test]
    fn builds() {}
}
