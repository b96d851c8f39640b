//! The test-support module itself: parsing env.sh and making names (no environment needed).

mod support;

use support::env::parse_env_sh;
use support::unique_name;

#[test]
fn env_sh_values_are_unquoted_like_the_shell_does() {
    let text = r#"# comment
export BERTH_ENV_DIR=/tmp/berth-env
export BERTH_A='single quoted $x'
export BERTH_B="double \"quoted\" \$x"
export BERTH_C=back\ slashed
BERTH_D=no-export # trailing comment
export not valid
"#;
    let vars = parse_env_sh(text);
    assert_eq!(vars["BERTH_ENV_DIR"], "/tmp/berth-env");
    assert_eq!(vars["BERTH_A"], "single quoted $x");
    assert_eq!(vars["BERTH_B"], "double \"quoted\" $x");
    assert_eq!(vars["BERTH_C"], "back slashed");
    assert_eq!(vars["BERTH_D"], "no-export");
    assert_eq!(vars.len(), 5, "{vars:?}");
}

#[test]
fn unique_names_are_dns_labels_and_differ() {
    let a = unique_name("My_Test");
    let b = unique_name("My_Test");
    assert_ne!(a, b);
    assert!(a.starts_with("my-test-"), "{a}");
    assert!(
        a.len() <= 63
            && a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{a}"
    );
}
