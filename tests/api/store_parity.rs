//! Where SQLite and PostgreSQL once behaved differently, both now do what a user expects
//! (the suite runs this on PostgreSQL when HOOKWIRE_TEST_DATABASE_URL is set).

use crate::support::*;

/// User names are case-insensitive in every script, not only in ASCII: a user added as
/// `Émile` logs in as `émile` and `ÉMILE`, and `ÉMILE` cannot be added a second time. (SQLite's
/// `COLLATE NOCASE` folded ASCII only; PostgreSQL's `lower()` depended on the database locale.)
#[tokio::test]
async fn user_names_are_case_insensitive_beyond_ascii() {
    let server = TestServer::start(&[]);
    let url = server.database_url();
    let (ok, out, err) = cli(&[
        "user",
        "add",
        "Émile",
        "--password",
        "emile-pw",
        "--database",
        &url,
    ]);
    assert!(ok, "{out}{err}");
    for name in ["Émile", "émile", "ÉMILE"] {
        let reply = server.login_as(NS88, name, "emile-pw").await;
        assert!(
            reply.text("Ticket").is_some(),
            "login as {name}: {}",
            reply.body
        );
    }
    let reply = server.login_as(NS88, "émile", "wrong-pw").await;
    assert!(reply.text("Ticket").is_none(), "{}", reply.body);
    let (ok, out, err) = cli(&[
        "user",
        "add",
        "ÉMILE",
        "--password",
        "other-pw",
        "--database",
        &url,
    ]);
    assert!(!ok, "a second user differing only in case was added: {out}");
    assert!(err.contains("already exists"), "{err}");
}
