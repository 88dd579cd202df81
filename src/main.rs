fn main() {
    std::process::exit(jobnet2sfn::cli::main());
}
