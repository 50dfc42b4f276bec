mod smoke {
    #[test]
    fn builds() {}
}
mod state;
