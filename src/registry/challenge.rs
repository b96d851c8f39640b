//! `WWW-Authenticate` challenges (RFC 7235) and `Link` pagination headers (RFC 8288).
//!
//! Both parsers are total: any input gives a (possibly empty) answer, never a panic. Registries
//! differ in spacing, quoting, parameter case and the number of challenges per header, so the
//! parsers accept all of it.

/// One challenge: a scheme (lowercased) and its parameters (names lowercased).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    /// The scopes the server asked for (space-separated in one parameter).
    pub fn scopes(&self) -> Vec<String> {
        self.param("scope")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }

    pub fn is_basic(&self) -> bool {
        self.scheme == "basic"
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.bump();
        }
    }

    fn skip_ws_commas(&mut self) {
        while self
            .peek()
            .is_some_and(|c| c == ' ' || c == '\t' || c == ',')
        {
            self.bump();
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.bump();
        }
        &self.s[start..self.i]
    }

    /// A quoted string (after the opening quote has been seen) with `\` escapes.
    fn quoted(&mut self) -> String {
        self.bump(); // opening quote
        let mut out = String::new();
        while let Some(c) = self.bump() {
            match c {
                '"' => return out,
                '\\' => {
                    if let Some(n) = self.bump() {
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        out // unterminated: take what there is
    }

    fn value(&mut self) -> String {
        if self.peek() == Some('"') {
            self.quoted()
        } else {
            // Lenient: an unquoted value runs to the next comma or space (servers put '/' and ':'
            // in unquoted realms, which the token grammar does not allow).
            let start = self.i;
            while self
                .peek()
                .is_some_and(|c| c != ',' && c != ' ' && c != '\t')
            {
                self.bump();
            }
            self.s[start..self.i].to_owned()
        }
    }

    /// After a comma: is the next item `name=` (a parameter) rather than a new scheme?
    fn next_is_param(&self) -> bool {
        let mut look = Cursor {
            s: self.s,
            i: self.i,
        };
        look.skip_ws_commas();
        if look.token().is_empty() {
            return false;
        }
        look.skip_ws();
        look.peek() == Some('=')
    }
}

/// Parses every challenge in one header value. Several header lines can be parsed one by one
/// and concatenated.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut cur = Cursor { s: header, i: 0 };
    let mut out = Vec::new();
    loop {
        cur.skip_ws_commas();
        if cur.peek().is_none() {
            return out;
        }
        let scheme = cur.token();
        if scheme.is_empty() {
            // Junk where a scheme should be: skip one character and try again.
            cur.bump();
            continue;
        }
        let mut ch = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        cur.skip_ws();
        // Parameters (or a token68) until a comma followed by a new scheme.
        loop {
            cur.skip_ws();
            let save = cur.i;
            let name = cur.token();
            if name.is_empty() {
                break;
            }
            cur.skip_ws();
            if cur.peek() == Some('=') {
                cur.bump();
                cur.skip_ws();
                let value = cur.value();
                ch.params.push((name.to_ascii_lowercase(), value));
                cur.skip_ws();
                if cur.peek() == Some(',') && cur.next_is_param_after_comma() {
                    cur.bump();
                    continue;
                }
                break;
            }
            if ch.params.is_empty() {
                // `Scheme token68`: keep it as an unnamed parameter.
                ch.params.push((String::new(), name.to_owned()));
            } else {
                cur.i = save;
            }
            break;
        }
        out.push(ch);
    }
}

impl Cursor<'_> {
    fn next_is_param_after_comma(&self) -> bool {
        let mut look = Cursor {
            s: self.s,
            i: self.i,
        };
        look.bump(); // the comma
        look.next_is_param()
    }
}

/// The `rel="next"` target of a `Link` header, as written (often relative).
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = rest[open + 1..close].trim();
        let after = &rest[close + 1..];
        // Parameters run to the next link (next '<'), outside quotes.
        let end = param_end(after);
        let params = &after[..end];
        if params.split(';').any(|p| {
            let p = p.trim();
            match p.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("rel") => v
                    .trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next")),
                _ => false,
            }
        }) && !target.is_empty()
        {
            return Some(target.to_owned());
        }
        rest = &after[end..];
    }
}

fn param_end(s: &str) -> usize {
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '<' if !in_quote => return i,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn acr_bearer() {
        let c = parse_challenges(
            r#"Bearer realm="https://r.azurecr.io/oauth2/token",service="r.azurecr.io",scope="repository:web:pull""#,
        );
        assert_eq!(c.len(), 1);
        assert!(c[0].is_bearer());
        assert_eq!(c[0].realm(), Some("https://r.azurecr.io/oauth2/token"));
        assert_eq!(c[0].service(), Some("r.azurecr.io"));
        assert_eq!(c[0].scopes(), vec!["repository:web:pull"]);
    }

    #[test]
    fn spacing_case_quoting_and_several_challenges() {
        let c = parse_challenges(
            "  bearer   Realm = \"https://a/token\" ,  service=a.io , scope=\"repository:x:pull,push registry:catalog:*\", Basic realm=\"Registry \\\"R\\\"\"",
        );
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].realm(), Some("https://a/token"));
        assert_eq!(c[0].service(), Some("a.io"));
        assert_eq!(
            c[0].scopes(),
            vec!["repository:x:pull,push", "registry:catalog:*"]
        );
        assert!(c[1].is_basic());
        assert_eq!(c[1].realm(), Some("Registry \"R\""));
    }

    #[test]
    fn unquoted_realm_with_url_characters() {
        let c = parse_challenges("Bearer realm=https://auth.example/token,service=reg");
        assert_eq!(c[0].realm(), Some("https://auth.example/token"));
        assert_eq!(c[0].service(), Some("reg"));
    }

    #[test]
    fn bare_schemes_and_token68() {
        let c = parse_challenges("Negotiate, Basic realm=x");
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].scheme, "negotiate");
        assert!(c[0].params.is_empty());
        assert_eq!(c[1].realm(), Some("x"));
        let c = parse_challenges("Custom abc123==");
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].scheme, "custom");
    }

    #[test]
    fn link_next() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=x&n=100>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=x&n=100")
        );
        assert_eq!(
            next_link(r#"<https://r/a?p=1>; rel="prev", <https://r/a?p=3>;rel=next"#).as_deref(),
            Some("https://r/a?p=3")
        );
        assert_eq!(
            next_link(r#"</a>; title="x, <y>"; rel="prev next""#).as_deref(),
            Some("/a")
        );
        assert_eq!(next_link(r#"</a>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
    }

    proptest! {
        #[test]
        fn challenges_never_panic(s in "\\PC{0,120}") {
            let _ = parse_challenges(&s);
        }

        #[test]
        fn challenge_like_input_never_panics(s in "[A-Za-z =,\"\\\\/:.]{0,80}") {
            let _ = parse_challenges(&s);
        }

        #[test]
        fn link_never_panics(s in "\\PC{0,120}") {
            let _ = next_link(&s);
        }

        #[test]
        fn link_like_input_never_panics(s in "[<>;=,\" a-z/?&]{0,60}") {
            let _ = next_link(&s);
        }

        #[test]
        fn generated_bearer_round_trips(realm in "https://[a-z]{1,8}(:[0-9]{2,5})?/[a-z/]{0,10}",
                                         service in "[a-z0-9.:-]{1,20}",
                                         scope in "repository:[a-z/]{1,10}:(pull|pull,push)",
                                         sp in "[ ]{0,2}") {
            let h = format!("Bearer realm={sp}\"{realm}\"{sp},{sp}service=\"{service}\",scope=\"{scope}\"");
            let c = parse_challenges(&h);
            prop_assert_eq!(c.len(), 1);
            prop_assert_eq!(c[0].realm(), Some(realm.as_str()));
            prop_assert_eq!(c[0].service(), Some(service.as_str()));
            prop_assert_eq!(c[0].scopes(), vec![scope]);
        }
    }
}
