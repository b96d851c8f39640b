//! The retag prompt's target: a tag, `repo:tag`, `repo`, or `host/repo:tag`, checked with the
//! crate's reference grammar (`crate::reference`) so the prompt and the headless commands agree.

use super::effects::ImageLocation;
use crate::reference::{Reference, validate_tag};

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
    validate_tag(&tag).map_err(|e| e.to_string())?;
    let dst = ImageLocation {
        registry,
        repository,
        reference: tag,
    };
    // The whole reference through the grammar: host, lower-case path components.
    Reference::parse(&dst.to_string()).map_err(|e| e.to_string())?;
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
