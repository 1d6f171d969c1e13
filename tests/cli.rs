//! The admin command line, run as the real binary against a temporary database.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The binary under test.
fn msnd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_msnd"))
}

/// Runs `command` to completion with `stdin` as its standard input.
fn output(command: &mut Command, stdin: &str) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

struct Msnd {
    dir: tempfile::TempDir,
}

impl Msnd {
    fn new() -> Msnd {
        let dir = tempfile::tempdir().unwrap();
        let config = format!("database_url = \"sqlite://{}\"\n", dir.path().join("cli.db").display());
        std::fs::write(dir.path().join("msnd.toml"), config).unwrap();
        Msnd { dir }
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("msnd.toml")
    }

    /// Runs `msnd <args>` with `stdin` as standard input.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        output(msnd().arg("--config").arg(self.config()).args(args), stdin)
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(out.status.success(), "msnd {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], stdin: &str, message: &str) {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "msnd {args:?} should fail");
        assert!(stderr.contains(message), "msnd {args:?}: {stderr:?} lacks {message:?}");
    }
}

#[test]
fn accounts_are_managed_from_the_command_line() {
    let msnd = Msnd::new();
    assert!(msnd.ok(&["migrate"], "").contains("up to date"));
    msnd.ok(&["user", "add", "Alice@Example.com", "--name", "Alice L", "--password-stdin"], "s3cret\n");
    msnd.ok(&["user", "add", "bob@example.com", "--password-stdin"], "pw\r\n");
    assert_eq!(
        msnd.ok(&["user", "list"], ""),
        "alice@example.com\tAlice L\nbob@example.com\tbob@example.com\n"
    );

    msnd.fails(&["user", "add", "ALICE@example.com", "--password-stdin"], "x\n", "already exists");
    msnd.fails(&["user", "add", "not-an-email", "--password-stdin"], "x\n", "not a valid e-mail address");
    msnd.fails(&["user", "add", "carol@example.com", "--password-stdin"], "\n", "must not be empty");
    msnd.fails(&["user", "add", "carol@example.com"], "", "use --password-stdin");
    msnd.fails(&["user", "passwd", "nobody@example.com", "--password-stdin"], "x\n", "no account");
    msnd.fails(&["user", "del", "nobody@example.com"], "", "no such account");

    msnd.ok(&["user", "passwd", "alice@example.com", "--password-stdin"], "n3w\n");
    msnd.ok(&["user", "del", "BOB@example.com"], "");
    assert_eq!(msnd.ok(&["user", "list"], ""), "alice@example.com\tAlice L\n");
}

#[test]
fn passwords_are_not_stored_in_plaintext() {
    let msnd = Msnd::new();
    msnd.ok(&["user", "add", "alice@example.com", "--password-stdin"], "very-distinctive-password\n");
    for file in ["cli.db", "cli.db-wal"] {
        let path = msnd.dir.path().join(file);
        if Path::new(&path).exists() {
            let bytes = std::fs::read(&path).unwrap();
            let needle = b"very-distinctive-password";
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{file} holds the password");
        }
    }
}

#[test]
fn unknown_config_keys_are_named() {
    let msnd = Msnd::new();
    std::fs::write(msnd.config(), "[limits]\nmax_lines = 3\n").unwrap();
    msnd.fails(&["user", "list"], "", "max_lines");
}

#[test]
fn cert_prints_and_exports_the_generated_certificate() {
    let msnd = Msnd::new();
    msnd.fails(&["cert"], "", "there is no database at");
    assert!(!msnd.dir.path().join("msnd-cert.pem").exists(), "no certificate the server would not use");
    msnd.ok(&["migrate"], "");
    let pem = msnd.ok(&["cert"], "");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    let beside_db = std::fs::read_to_string(msnd.dir.path().join("msnd-cert.pem")).unwrap();
    assert_eq!(pem, beside_db, "generated once, beside the database");
    assert_eq!(msnd.ok(&["cert"], ""), pem, "and reused");
    let cer = msnd.dir.path().join("msnd.cer");
    assert!(msnd.ok(&["cert", "--der", cer.to_str().unwrap()], "").contains("Trusted Root"));
    let der = openssl::x509::X509::from_der(&std::fs::read(&cer).unwrap()).unwrap();
    assert_eq!(der.to_pem().unwrap(), pem.as_bytes());
}

#[test]
fn commands_that_need_a_database_make_none() {
    let msnd = Msnd::new();
    let db = msnd.dir.path().join("cli.db");
    for args in [
        &["user", "list"][..],
        &["user", "del", "alice@example.com"],
        &["user", "passwd", "alice@example.com", "--password-stdin"],
    ] {
        msnd.fails(args, "pw\n", "there is no database at");
        assert!(!db.exists(), "msnd {args:?} left an empty database behind");
    }
    msnd.ok(&["user", "add", "alice@example.com", "--password-stdin"], "pw\n");
    assert!(db.exists(), "adding the first account makes the database");
    assert_eq!(msnd.ok(&["user", "list"], ""), "alice@example.com\talice@example.com\n");
}

#[test]
fn the_data_directory_holds_the_database_and_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let msnd = |args: &[&str], data_dir: &Path, stdin: &str| {
        let mut command = msnd();
        command.args(args).env("MSND_DATA_DIR", data_dir).env_remove("MSND_CONFIG").current_dir(dir.path());
        output(&mut command, stdin)
    };
    let added = msnd(&["user", "add", "alice@example.com", "--password-stdin"], &data, "pw\n");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let log = String::from_utf8_lossy(&added.stderr);
    assert!(log.contains(&format!("data_dir={}", data.display())), "the directory is named: {log}");
    assert!(data.join("msnd.db").exists(), "the database is made in the data directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
    assert!(msnd(&["cert"], &data, "").status.success());
    assert!(data.join("msnd-cert.pem").exists() && data.join("msnd-key.pem").exists(), "the pair beside it");
    let elsewhere = msnd(&["user", "list"], &dir.path().join("other"), "");
    assert!(!elsewhere.status.success(), "another directory has no database");
    assert!(!dir.path().join("other").exists() && !dir.path().join("msnd.db").exists(), "and none is made");
    let listed = msnd(&["--data-dir", data.to_str().unwrap(), "user", "list"], Path::new("/nonexistent"), "");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "alice@example.com\talice@example.com\n",
        "--data-dir wins"
    );
}

#[test]
fn accounts_are_disabled_and_enabled() {
    let msnd = Msnd::new();
    msnd.ok(&["user", "add", "alice@example.com", "--password-stdin"], "pw\n");
    assert!(msnd.ok(&["user", "disable", "alice@example.com"], "").contains("disabled alice@example.com"));
    assert_eq!(msnd.ok(&["user", "list"], ""), "alice@example.com\talice@example.com\tdisabled\n");
    msnd.ok(&["user", "enable", "alice@example.com"], "");
    assert_eq!(msnd.ok(&["user", "list"], ""), "alice@example.com\talice@example.com\n");
    msnd.fails(&["user", "disable", "bob@example.com"], "", "no such account");
}
