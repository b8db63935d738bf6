//! `safe_path` never returns a path that can leave the root (R-SRV-1).

use std::path::{Component, Path};

use tftp_proto::path::{safe_path, MAX_COMPONENT_LEN, MAX_NAME_LEN};

/// Any accepted name is relative, made of non-empty components that are not `.`, `..` or
/// dots and spaces only, holds no `\`, `:` or control character, stays within the length
/// limits, is its own normal form, and joined to a root stays under it component-wise.
pub fn path(data: &[u8]) {
    let Ok(p) = safe_path(data) else {
        return;
    };
    let s = p.as_str();
    assert!(!s.starts_with('/') && s.len() <= MAX_NAME_LEN, "{s:?}");
    assert!(!s.contains(['\\', ':']), "{s:?}");
    assert!(!s.chars().any(char::is_control), "{s:?}");
    for c in p.components() {
        assert!(!c.is_empty() && c.len() <= MAX_COMPONENT_LEN, "{s:?}");
        assert!(!c.chars().all(|c| c == '.' || c == ' '), "{s:?}: {c:?}");
    }
    assert_eq!(safe_path(s.as_bytes()).as_ref(), Ok(&p), "normal form");
    let root = Path::new("/srv/tftp");
    let joined = root.join(s);
    assert!(joined.starts_with(root), "{joined:?}");
    let below: Vec<_> = joined
        .components()
        .skip(root.components().count())
        .collect();
    assert_eq!(below.len(), p.components().count(), "{joined:?}");
    assert!(
        below.iter().all(|c| matches!(c, Component::Normal(_))),
        "{joined:?}"
    );
}
