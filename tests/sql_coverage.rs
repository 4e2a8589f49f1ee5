//! The native suite runs every statement the Worker runs: each test
//! process appends the names of the `store::sql::ALL` statements it ran to
//! `$SQL_COVERAGE_DIR` (`scripts/test` sets it for the native layer), and
//! this test, run after the others, fails naming any statement no native
//! test ran.

use std::collections::BTreeSet;

use edge_registry::store::sql::ALL;
use edge_registry::store::sqlite::COVERAGE_DIR_VAR;

#[test]
#[ignore = "run by scripts/test after the native suite, with SQL_COVERAGE_DIR set"]
fn every_statement_of_the_sql_module_is_run_by_the_native_suite() {
    let dir =
        std::env::var(COVERAGE_DIR_VAR).unwrap_or_else(|_| panic!("{COVERAGE_DIR_VAR} is not set"));
    let mut ran = BTreeSet::new();
    let mut processes = 0;
    for entry in std::fs::read_dir(&dir).expect("the coverage directory exists") {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        processes += 1;
        ran.extend(text.lines().map(str::to_string));
    }
    assert!(
        processes >= 5,
        "only {processes} test processes recorded statements"
    );
    let missing: Vec<&str> = ALL
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !ran.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "statements no native test runs: {missing:?}"
    );
    let unknown: Vec<&String> = ran
        .iter()
        .filter(|r| !ALL.iter().any(|(name, _)| name == r))
        .collect();
    assert!(
        unknown.is_empty(),
        "recorded names not in sql::ALL: {unknown:?}"
    );
}

#[test]
fn statement_names_and_texts_are_unique() {
    let names: BTreeSet<&str> = ALL.iter().map(|(n, _)| *n).collect();
    let texts: BTreeSet<&str> = ALL.iter().map(|(_, s)| *s).collect();
    assert_eq!(names.len(), ALL.len(), "a statement name twice");
    assert_eq!(texts.len(), ALL.len(), "the same statement under two names");
}
