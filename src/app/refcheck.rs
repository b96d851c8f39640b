//! Local checks of tag and repository names typed into the retag prompt.
//!
//! TODO(lead): replace with `crate::reference`'s validator once the registry branch is merged;
//! the rules here are the OCI distribution spec's and the messages follow the same shape.

use super::effects::ImageLocation;

/// OCI tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first_ok = tag
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if tag.is_empty() {
        return Err("the tag is empty: type a tag such as 1.2.0 or stable".to_owned());
    }
    if tag.len() > 128 || !first_ok || !tag.chars().all(ok_char) {
        return Err(format!(
            "tag {tag:?} is not valid: a tag is 1–128 letters, digits, '_', '.' or '-', \
             and does not start with '.' or '-'"
        ));
    }
    Ok(())
}

/// OCI repository grammar: lower-case path components of `[a-z0-9]` joined by `.`, `_`, `__`
/// or runs of `-`, separated by `/`.
pub fn validate_repository(repo: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && !c.contains("..")
            && !c.contains("___")
            && !c.contains("._")
            && !c.contains("_.")
    };
    if repo.is_empty() || repo.len() > 255 || !repo.split('/').all(component_ok) {
        return Err(format!(
            "repository {repo:?} is not valid: use lower-case letters and digits, separated by \
             '.', '_' or '-', with '/' between path components (e.g. team/web)"
        ));
    }
    Ok(())
}

/// What the retag prompt accepts: `TAG` (same repository), `REPO:TAG`, `REPO` (same tag), or
/// `HOST/REPO:TAG` (another registry). The first path component is a host when it has a `.` or
/// a `:` or is `localhost`.
pub fn parse_target(input: &str, src: &ImageLocation) -> Result<ImageLocation, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("type the new tag (e.g. stable), repo:tag, or host/repo:tag".to_owned());
    }
    if input.contains('@') {
        return Err(
            "a retag target is a tag, not a digest: type e.g. stable or web:1.2.0".to_owned(),
        );
    }
    let (registry, rest) = match input.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_owned(), rest)
        }
        _ => (src.registry.clone(), input),
    };
    let has_path = rest.contains('/') || registry != src.registry;
    let (repository, tag) = match rest.rsplit_once(':') {
        Some((repo, tag)) => (repo.to_owned(), tag.to_owned()),
        None if has_path => (rest.to_owned(), src.reference.clone()),
        // A bare word is a tag of the same repository.
        None => (src.repository.clone(), rest.to_owned()),
    };
    let repository = if repository.is_empty() {
        src.repository.clone()
    } else {
        repository
    };
    validate_repository(&repository)?;
    validate_tag(&tag)?;
    let dst = ImageLocation {
        registry,
        repository,
        reference: tag,
    };
    if dst == *src {
        return Err(format!(
            "{dst} is the image itself: choose another tag or repository"
        ));
    }
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> ImageLocation {
        ImageLocation {
            registry: "berthacr.azurecr.io".into(),
            repository: "web".into(),
            reference: "1.0.29".into(),
        }
    }

    #[test]
    fn tags() {
        for ok in ["1.0.0", "latest", "_x", "A-b.c_d", &"a".repeat(128)] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a b", "a/b", "ä", &"a".repeat(129)] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets() {
        let t = parse_target("stable", &src()).unwrap();
        assert_eq!(t.to_string(), "berthacr.azurecr.io/web:stable");
        let t = parse_target("team/web:2", &src()).unwrap();
        assert_eq!(t.to_string(), "berthacr.azurecr.io/team/web:2");
        let t = parse_target("prod/web", &src()).unwrap();
        assert_eq!(t.to_string(), "berthacr.azurecr.io/prod/web:1.0.29");
        let t = parse_target("127.0.0.1:5000/mirror/web:1", &src()).unwrap();
        assert_eq!(t.to_string(), "127.0.0.1:5000/mirror/web:1");
        assert!(
            parse_target("1.0.29", &src())
                .unwrap_err()
                .contains("itself")
        );
        assert!(
            parse_target("bad tag", &src())
                .unwrap_err()
                .contains("not valid")
        );
        assert!(
            parse_target("Web:1", &src())
                .unwrap_err()
                .contains("repository")
        );
        assert!(parse_target("web@sha256:00", &src()).is_err());
        assert!(parse_target("  ", &src()).is_err());
    }
}
