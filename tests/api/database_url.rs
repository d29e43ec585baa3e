//! `--database` URLs the server cannot use get a clear error, and a password in the URL never
//! appears in what hookwire prints.

use crate::support::cli;

#[test]
fn an_unsupported_database_url_is_refused_with_the_schemes_that_work() {
    let (ok, _, err) = cli(&["user", "add", "bob", "--database", "mysql://db/hookwire"]);
    assert!(!ok, "a mysql:// URL was accepted");
    assert!(
        err.contains("unsupported database URL 'mysql://db/hookwire'")
            && err.contains("sqlite://PATH")
            && err.contains("postgres://"),
        "{err}"
    );
}

#[test]
fn an_unreachable_postgres_server_is_a_clear_error_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://hookwire:s3cret-pw@127.0.0.1:1/hookwire";
    let (ok, out, err) = cli(&["user", "add", "bob", "--database", url]);
    assert!(!ok, "user add succeeded without a database");
    assert!(err.contains("database error"), "{err}");
    assert!(
        !err.contains("s3cret-pw") && !out.contains("s3cret-pw"),
        "the password was printed: {out}{err}"
    );
    let (ok, _, err) = cli(&[
        "user",
        "add",
        "bob",
        "--database",
        "ftp://u:s3cret-pw@host/x",
    ]);
    assert!(!ok);
    assert!(
        !err.contains("s3cret-pw"),
        "the password was printed: {err}"
    );
}
