//! winsim: a Windows Server 2022 host simulator for rwin's tests (see README.md).

fn main() {
    eprintln!("winsim: not built yet");
    std::process::exit(2);
}
