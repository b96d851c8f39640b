//! Case by case, each against the kubelet function that decides it (kubernetes v1.20
//! `pkg/credentialprovider/keyring.go`, and the Go library it calls).

use super::*;
use proptest::prelude::*;

fn img(s: &str) -> String {
    image_name(&Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
}

/// Does the kubelet use an entry with `key` (alone in the keyring) for `image`?
fn uses(key: &str, image: &str) -> bool {
    let mut k = Keyring::new();
    let _ = k.add(key, ());
    !k.lookup(&img(image)).is_empty()
}

/// (key as written in the secret, image in the pod spec, does the node use it, what decides)
const TABLE: &[(&str, &str, bool, &str)] = &[
    // Scheme: `Add` prepends https:// unless the key has https:// or http://.
    ("myacr.azurecr.io", "myacr.azurecr.io/web:1", true, "Add"),
    (
        "https://myacr.azurecr.io",
        "myacr.azurecr.io/web:1",
        true,
        "Add",
    ),
    (
        "http://myacr.azurecr.io",
        "myacr.azurecr.io/web:1",
        true,
        "Add",
    ),
    (
        "https://myacr.azurecr.io/",
        "myacr.azurecr.io/web:1",
        true,
        "Add: path / is none",
    ),
    // Only those two exact, lower-case prefixes are schemes: the rest becomes the host.
    (
        "HTTPS://myacr.azurecr.io",
        "myacr.azurecr.io/web:1",
        false,
        "Add",
    ),
    (
        "oci://myacr.azurecr.io",
        "myacr.azurecr.io/web:1",
        false,
        "Add",
    ),
    // /v1/ and /v2/ are stripped for every host (`Add`), only with their trailing slash.
    (
        "https://myacr.azurecr.io/v2/",
        "myacr.azurecr.io/web:1",
        true,
        "Add: /v2/",
    ),
    (
        "https://myacr.azurecr.io/v1/",
        "myacr.azurecr.io/web:1",
        true,
        "Add: /v1/",
    ),
    (
        "myacr.azurecr.io/v2/",
        "myacr.azurecr.io/web:1",
        true,
        "Add: /v2/",
    ),
    (
        "https://127.0.0.1:5000/v2/",
        "127.0.0.1:5000/web:1",
        true,
        "Add: /v2/",
    ),
    (
        "https://myacr.azurecr.io/v2/team",
        "myacr.azurecr.io/team/web:1",
        true,
        "Add: /v2/team → /team",
    ),
    (
        "https://myacr.azurecr.io/v2/team",
        "myacr.azurecr.io/web:1",
        false,
        "URLsMatch: path prefix",
    ),
    (
        "https://myacr.azurecr.io/v2",
        "myacr.azurecr.io/web:1",
        false,
        "Add: /v2 is a path",
    ),
    (
        "https://myacr.azurecr.io/v3/",
        "myacr.azurecr.io/web:1",
        false,
        "Add: only v1, v2",
    ),
    // Path prefix: strings.HasPrefix on the paths (`URLsMatch`), not per component.
    (
        "myacr.azurecr.io/team",
        "myacr.azurecr.io/team/web:1",
        true,
        "URLsMatch",
    ),
    (
        "myacr.azurecr.io/team",
        "myacr.azurecr.io/web:1",
        false,
        "URLsMatch",
    ),
    (
        "myacr.azurecr.io/tea",
        "myacr.azurecr.io/team/web:1",
        true,
        "URLsMatch: HasPrefix",
    ),
    (
        "myacr.azurecr.io/team/",
        "myacr.azurecr.io/team/web:1",
        true,
        "URLsMatch",
    ),
    (
        "myacr.azurecr.io/team/",
        "myacr.azurecr.io/team:1",
        false,
        "URLsMatch",
    ),
    (
        "myacr.azurecr.io/team/web",
        "myacr.azurecr.io/team/web:1",
        true,
        "URLsMatch",
    ),
    (
        "myacr.azurecr.io//team",
        "myacr.azurecr.io/team/web:1",
        false,
        "URLsMatch",
    ),
    // Host case: `filepath.Match` on each part compares exactly.
    (
        "MyACR.azurecr.io",
        "myacr.azurecr.io/web:1",
        false,
        "URLsMatch: filepath.Match",
    ),
    (
        "myacr.azurecr.io",
        "MyACR.azurecr.io/web:1",
        false,
        "URLsMatch: filepath.Match",
    ),
    (
        "MyACR.azurecr.io",
        "MyACR.azurecr.io/web:1",
        true,
        "URLsMatch: filepath.Match",
    ),
    // Globs: one host part each, same number of parts.
    (
        "*.azurecr.io",
        "myacr.azurecr.io/web:1",
        true,
        "URLsMatch: filepath.Match",
    ),
    (
        "*.azurecr.io",
        "azurecr.io/web:1",
        false,
        "URLsMatch: part count",
    ),
    (
        "*.io",
        "myacr.azurecr.io/web:1",
        false,
        "URLsMatch: part count",
    ),
    (
        "my*.azurecr.io",
        "myacr.azurecr.io/web:1",
        true,
        "filepath.Match: *",
    ),
    (
        "*.*.io",
        "myacr.azurecr.io/web:1",
        true,
        "filepath.Match: *",
    ),
    (
        "my[a-c]cr.azurecr.io",
        "mybcr.azurecr.io/web:1",
        true,
        "filepath.Match: class",
    ),
    (
        "my[^a-c]cr.azurecr.io",
        "mybcr.azurecr.io/web:1",
        false,
        "filepath.Match: negated class",
    ),
    (
        "my[acr.azurecr.io",
        "myacr.azurecr.io/web:1",
        false,
        "filepath.Match: ErrBadPattern",
    ),
    (
        "https://*.azurecr.io/v2/",
        "myacr.azurecr.io/web:1",
        true,
        "Add + URLsMatch",
    ),
    // Ports: net.SplitHostPort on both sides, compared exactly.
    (
        "127.0.0.1:5000",
        "127.0.0.1:5000/web:1",
        true,
        "URLsMatch: port",
    ),
    (
        "127.0.0.1:5000",
        "127.0.0.1:5001/web:1",
        false,
        "URLsMatch: port",
    ),
    (
        "127.0.0.1",
        "127.0.0.1:5000/web:1",
        false,
        "URLsMatch: port",
    ),
    (
        "127.0.0.1:5000",
        "127.0.0.1/web:1",
        false,
        "URLsMatch: port",
    ),
    (
        "myacr.azurecr.io:443",
        "myacr.azurecr.io/web:1",
        false,
        "URLsMatch: port",
    ),
    ("localhost:5000", "localhost:5000/web:1", true, "URLsMatch"),
    (
        "[::1]:5000",
        "[::1]:5000/web:1",
        true,
        "SplitHostPort: brackets",
    ),
    // Keys url.Parse rejects are ignored (`Add`).
    (
        "myacr.azurecr.io:abc",
        "myacr.azurecr.io/web:1",
        false,
        "url.Parse: port",
    ),
    (
        " myacr.azurecr.io",
        "myacr.azurecr.io/web:1",
        false,
        "url.Parse: space in host",
    ),
    (
        "myacr.azurecr.io/%zz",
        "myacr.azurecr.io/web:1",
        false,
        "url.Parse: escape",
    ),
    // Userinfo, query and fragment are parsed and dropped.
    (
        "https://u@myacr.azurecr.io",
        "myacr.azurecr.io/web:1",
        true,
        "url.Parse: userinfo",
    ),
    (
        "myacr.azurecr.io?x=1",
        "myacr.azurecr.io/web:1",
        true,
        "url.Parse: query",
    ),
    (
        "myacr.azurecr.io/#frag",
        "myacr.azurecr.io/web:1",
        true,
        "url.Parse: fragment",
    ),
    // Docker Hub: the image is docker.io/library/...; index.docker.io only by the fallback.
    (
        "https://index.docker.io/v1/",
        "busybox:1.36",
        true,
        "Lookup: default registry",
    ),
    (
        "index.docker.io",
        "docker.io/library/busybox",
        true,
        "Lookup: default registry",
    ),
    (
        "index.docker.io",
        "bitnami/nginx",
        true,
        "isDefaultRegistryMatch",
    ),
    ("docker.io", "busybox:1.36", true, "URLsMatch"),
    (
        "docker.io/library",
        "busybox:1.36",
        true,
        "URLsMatch: path prefix",
    ),
    (
        "docker.io/bitnami",
        "busybox:1.36",
        false,
        "URLsMatch: path prefix",
    ),
    (
        "registry-1.docker.io",
        "bitnami/nginx",
        false,
        "URLsMatch: part count",
    ),
    (
        "https://index.docker.io/v2/",
        "busybox",
        true,
        "Add: /v2/ → index.docker.io",
    ),
    (
        "index.docker.io/library",
        "busybox",
        false,
        "Lookup: fallback key is exact",
    ),
    (
        "https://index.docker.io/v1/",
        "myacr.azurecr.io/web:1",
        false,
        "isDefaultRegistryMatch",
    ),
    (
        "https://index.docker.io/v1/",
        "localhost/web:1",
        true,
        "isDefaultRegistryMatch: no . or :",
    ),
    (
        "https://index.docker.io/v1/",
        "localhost:5000/web:1",
        false,
        "isDefaultRegistryMatch",
    ),
];

#[test]
fn the_kubelet_matching_table() {
    let mut wrong = Vec::new();
    for &(key, image, want, why) in TABLE {
        if uses(key, image) != want {
            wrong.push(format!("key {key:?} image {image:?}: want {want} ({why})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn add_files_keys_as_the_kubelet_does() {
    for (loc, want) in [
        ("myacr.azurecr.io", Ok("myacr.azurecr.io")),
        ("https://myacr.azurecr.io/v2/", Ok("myacr.azurecr.io")),
        (
            "https://myacr.azurecr.io/v1/team",
            Ok("myacr.azurecr.io/team"),
        ),
        ("http://h.io/v2", Ok("h.io/v2")),
        ("https://u:p@h.io:5000/x?y#z", Ok("h.io:5000/x")),
        ("h.io/a%2Fb", Ok("h.io/a/b")),
        ("HTTPS://h.io", Ok("HTTPS://h.io")),
        ("h.io:", Ok("h.io:")),
        ("h.io:x", Err(())),
        ("h io", Err(())),
        ("h.io\t", Err(())),
        ("h.io/%", Err(())),
        ("h%41.io", Err(())),
        ("[::1", Err(())),
        ("https://u%zz:p@h.io", Err(())),
    ] {
        assert_eq!(
            keyring_key(loc).map_err(|_| ()),
            want.map(str::to_owned),
            "{loc:?}"
        );
    }
    // The userinfo may hold a password: the reason never quotes it.
    let e = keyring_key("https://u:hunter2%zz@h.io").unwrap_err();
    assert!(!e.contains("hunter2") && !e.contains("%zz"), "{e}");
}

#[test]
fn lookup_order_is_reverse_sorted_keys_then_insertion() {
    // `Add`: index deduplicated and reverse-sorted; creds per key in the order added.
    let mut k = Keyring::new();
    for (key, id) in [
        ("h.io", "a1"),
        ("other.io", "a2"),
        ("h.io/team", "b1"),
        ("https://h.io", "b2"),
        ("*.io", "c1"),
        ("https://h.io/v2/", "c2"),
    ] {
        k.add(key, id).unwrap();
    }
    assert_eq!(
        k.lookup("h.io/team/web"),
        ["b1", "a1", "b2", "c2", "c1"],
        "h.io/team > h.io > *.io in reverse byte order"
    );
    assert_eq!(k.lookup("h.io/web"), ["a1", "b2", "c2", "c1"]);
}

#[test]
fn the_docker_hub_fallback_only_when_nothing_matches() {
    let mut k = Keyring::new();
    k.add("https://index.docker.io/v1/", "hub").unwrap();
    k.add("docker.io/bitnami", "bitnami").unwrap();
    assert_eq!(k.lookup(&img("busybox")), ["hub"]);
    assert_eq!(k.lookup(&img("bitnami/nginx")), ["bitnami"], "a match wins");
    assert!(k.lookup(&img("myacr.azurecr.io/web")).is_empty());
}

#[test]
fn is_default_registry_match_cases() {
    for (image, want) in [
        ("busybox", true),
        ("library/busybox", true),
        ("docker.io/library/busybox", true),
        ("index.docker.io/library/busybox", true),
        ("localhost/web", true),
        ("localhost:5000/web", false),
        ("myacr.azurecr.io/web", false),
        ("/web", false),
    ] {
        assert_eq!(is_default_registry_match(image), want, "{image}");
    }
}

#[test]
fn lookup_host_ignores_the_path() {
    let mut k = Keyring::new();
    k.add("https://r.io/v2/", "root").unwrap();
    k.add("r.io/team", "team").unwrap();
    k.add("R.io", "upper").unwrap();
    assert_eq!(k.lookup_host("r.io"), ["team", "root"]);
    let mut hub = Keyring::new();
    hub.add("https://index.docker.io/v1/", "hub").unwrap();
    assert_eq!(hub.lookup_host("docker.io"), ["hub"]);
    assert!(hub.lookup_host("ghcr.io").is_empty());
}

/// `path/filepath.Match` (go1.15), from Go's own `match_test.go` cases that apply on Unix.
#[test]
fn filepath_match_agrees_with_go() {
    let bad = Err(BadPattern);
    for (pattern, name, want) in [
        ("abc", "abc", Ok(true)),
        ("*", "abc", Ok(true)),
        ("*c", "abc", Ok(true)),
        ("a*", "a", Ok(true)),
        ("a*", "abc", Ok(true)),
        ("a*", "ab/c", Ok(false)),
        ("a*/b", "abc/b", Ok(true)),
        ("a*/b", "a/c/b", Ok(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
        ("ab[c]", "abc", Ok(true)),
        ("ab[b-d]", "abc", Ok(true)),
        ("ab[e-g]", "abc", Ok(false)),
        ("ab[^c]", "abc", Ok(false)),
        ("ab[^b-d]", "abc", Ok(false)),
        ("ab[^e-g]", "abc", Ok(true)),
        ("a\\*b", "a*b", Ok(true)),
        ("a\\*b", "ab", Ok(false)),
        ("a?b", "a☺b", Ok(true)),
        ("a[^a]b", "a☺b", Ok(true)),
        ("a???b", "a☺b", Ok(false)),
        ("a[^a][^a][^a]b", "a☺b", Ok(false)),
        ("[a-ζ]*", "α", Ok(true)),
        ("*[a-ζ]", "A", Ok(false)),
        ("a?b", "a/b", Ok(false)),
        ("a*b", "a/b", Ok(false)),
        ("[\\]a]", "]", Ok(true)),
        ("[\\-]", "-", Ok(true)),
        ("[x\\-]", "x", Ok(true)),
        ("[x\\-]", "-", Ok(true)),
        ("[x\\-]", "z", Ok(false)),
        ("[\\-x]", "x", Ok(true)),
        ("[\\-x]", "-", Ok(true)),
        ("[\\-x]", "a", Ok(false)),
        ("[]a]", "]", bad),
        ("[-]", "-", bad),
        ("[x-]", "x", bad),
        ("[x-]", "-", bad),
        ("[x-]", "z", bad),
        ("[-x]", "x", bad),
        ("[-x]", "-", bad),
        ("[-x]", "a", bad),
        ("\\", "a", bad),
        ("[a-b-c]", "a", bad),
        ("[", "a", bad),
        ("[^", "a", bad),
        ("[^bc", "a", bad),
        ("a[", "ab", bad),
        ("*x", "xxx", Ok(true)),
    ] {
        assert_eq!(filepath_match(pattern, name), want, "{pattern:?} {name:?}");
    }
}

#[test]
fn split_host_port_agrees_with_go() {
    for (hp, want) in [
        ("h.io:5000", Some(("h.io", "5000"))),
        ("h.io:", Some(("h.io", ""))),
        ("h.io", None),
        ("[::1]:5000", Some(("::1", "5000"))),
        ("[::1]", None),
        ("::1", None),
        ("a:b:c", None),
        ("[a]b:1", None),
    ] {
        assert_eq!(split_host_port(hp), want, "{hp}");
    }
}

proptest! {
    /// Any scheme spelling kubelet strips, any /v1/ or /v2/ and the host's own key all file the
    /// entry under the same key, and the entry applies to every repository on that host and
    /// to no other port.
    #[test]
    fn scheme_and_api_version_prefix_do_not_change_the_key(
        host in "[a-z][a-z0-9]{0,8}(\\.[a-z][a-z0-9]{0,8}){1,3}",
        port in proptest::option::of(1u16..),
        scheme in prop::sample::select(vec!["", "https://", "http://"]),
        api in prop::sample::select(vec!["", "/", "/v1/", "/v2/"]),
        repo in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
    ) {
        let hp = match port { Some(p) => format!("{host}:{p}"), None => host.clone() };
        let key = format!("{scheme}{hp}{api}");
        prop_assert_eq!(keyring_key(&key).unwrap(), hp.clone());
        let same = format!("{hp}/{repo}:1");
        prop_assert!(uses(&key, &same));
        let other = match port { Some(p) => format!("{host}:{}", p.wrapping_add(1).max(1)), None => format!("{host}:1") };
        if other != hp {
            let elsewhere = format!("{other}/{repo}:1");
            prop_assert!(!uses(&key, &elsewhere));
        }
    }

    /// A path key applies exactly when its path is a string prefix of the repository's.
    #[test]
    fn a_path_applies_by_string_prefix(
        key_path in "[a-z]{1,4}(/[a-z]{1,4}){0,2}/?",
        repo in "[a-z]{1,4}(/[a-z]{1,4}){0,2}",
    ) {
        let want = format!("/{repo}").starts_with(&format!("/{key_path}"));
        prop_assert_eq!(uses(&format!("h.io/{key_path}"), &format!("h.io/{repo}")), want);
    }

    #[test]
    fn filepath_match_never_panics(p in "[a-c*?\\[\\]\\\\^-]{0,8}", n in "[a-c/-]{0,6}") {
        let _ = filepath_match(&p, &n);
    }

    #[test]
    fn keyring_key_never_panics(k in "\\PC{0,40}") {
        let _ = keyring_key(&k);
    }
}
