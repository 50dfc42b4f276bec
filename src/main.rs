fn main() -> std::process::ExitCode {
    coursesync::main()
}
