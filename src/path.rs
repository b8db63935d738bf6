//! Turning a request's file name into a path that cannot leave the served root (R-SRV-1, the
//! pure part). The file-system part (symbolic links, device files) belongs to the driver.
//!
//! The check is by component, never by string prefix: the name is split at `/` and `\`
//! (Windows clients send both), empty and `.` components are dropped, so an absolute name is
//! taken relative to the root, and the name is refused when any component is `..` or made of
//! dots and spaces only (`...`, `. .`, which Windows collapses), holds `:` (a drive or an
//! alternate stream on Windows), a control character or NUL, or when the name is not UTF-8,
//! empty, or longer than [`MAX_NAME_LEN`] (components longer than [`MAX_COMPONENT_LEN`]).

use alloc::string::String;

use crate::wire::packet::ErrorCode;

/// The longest file name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 1024;
/// The longest single path component accepted, in bytes.
pub const MAX_COMPONENT_LEN: usize = 255;

/// Why a file name was refused. Each maps to ERROR 2 (access violation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Nothing left once separators and `.` are dropped.
    #[error("empty file name")]
    Empty,
    /// Longer than [`MAX_NAME_LEN`] or a component longer than [`MAX_COMPONENT_LEN`].
    #[error("file name too long")]
    TooLong,
    /// Not valid UTF-8.
    #[error("file name is not UTF-8")]
    NotUtf8,
    /// A control character or NUL.
    #[error("control character in file name")]
    ControlCharacter,
    /// A `..` component, or one of dots and spaces only.
    #[error("parent directory in file name")]
    ParentComponent,
    /// A `:` (a drive letter or a stream on Windows).
    #[error("colon in file name")]
    Colon,
}

impl PathError {
    /// The TFTP error code to answer with: always access violation.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::AccessViolation
    }
}

/// A relative path under the served root: components joined by `/`, none of them empty, `.`,
/// `..`, or holding a separator, `:` or a control character.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SafePath {
    path: String,
}

impl SafePath {
    /// The path with `/` between components, never starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The components in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.path.split('/')
    }

    /// The last component (the file's own name).
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

impl core::fmt::Display for SafePath {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.path)
    }
}

/// Checks a requested file name and returns its path relative to the root.
pub fn safe_path(name: &[u8]) -> Result<SafePath, PathError> {
    if name.len() > MAX_NAME_LEN {
        return Err(PathError::TooLong);
    }
    let text = core::str::from_utf8(name).map_err(|_| PathError::NotUtf8)?;
    if text.chars().any(|c| c.is_control()) {
        return Err(PathError::ControlCharacter);
    }
    let mut path = String::with_capacity(text.len());
    for component in text.split(['/', '\\']) {
        if component.is_empty() || component == "." {
            continue;
        }
        if component.chars().all(|c| c == '.' || c == ' ') {
            return Err(PathError::ParentComponent);
        }
        if component.contains(':') {
            return Err(PathError::Colon);
        }
        if component.len() > MAX_COMPONENT_LEN {
            return Err(PathError::TooLong);
        }
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(component);
    }
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(SafePath { path })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    // R-SRV-1
    #[test]
    fn r_srv_1_hostile_names_are_refused() {
        let long = [b'a'; MAX_NAME_LEN + 1];
        let long_component = [b'b'; MAX_COMPONENT_LEN + 1];
        let cases: &[(&[u8], PathError)] = &[
            (b"../etc/passwd", PathError::ParentComponent),
            (b"/../../x", PathError::ParentComponent),
            (b"a/../../b", PathError::ParentComponent),
            (b"a/..", PathError::ParentComponent),
            (b"..\\..\\x", PathError::ParentComponent),
            (b"..../x", PathError::ParentComponent),
            (b".../x", PathError::ParentComponent),
            (b". ./x", PathError::ParentComponent),
            (b"a/.. /b", PathError::ParentComponent),
            (b"C:\\Windows\\win.ini", PathError::Colon),
            (b"file.txt::$DATA", PathError::Colon),
            (b"a\x01b", PathError::ControlCharacter),
            (b"a\x7fb", PathError::ControlCharacter),
            (b"a\nb", PathError::ControlCharacter),
            (b"a\x00b", PathError::ControlCharacter),
            (b"\xff\xfe", PathError::NotUtf8),
            (b"", PathError::Empty),
            (b"/", PathError::Empty),
            (b"././/", PathError::Empty),
            (&long, PathError::TooLong),
            (&long_component, PathError::TooLong),
        ];
        for (name, want) in cases {
            assert_eq!(safe_path(name), Err(*want), "name {name:?}");
        }
    }

    // R-SRV-1: absolute names are relative to the root; harmless dots stay.
    #[test]
    fn r_srv_1_absolute_names_are_relative_to_the_root() {
        let ok = |n: &[u8]| safe_path(n).unwrap().as_str().to_owned_string();
        assert_eq!(ok(b"/boot/pxelinux.0"), "boot/pxelinux.0");
        assert_eq!(ok(b"\\boot\\x.cfg"), "boot/x.cfg");
        assert_eq!(ok(b"./a//b/./c"), "a/b/c");
        assert_eq!(ok(b"..a/b..c/.hidden"), "..a/b..c/.hidden");
        let p = safe_path(b"pxelinux.cfg/01-aa-bb").unwrap();
        assert_eq!(
            p.components().collect::<Vec<_>>(),
            ["pxelinux.cfg", "01-aa-bb"]
        );
        assert_eq!(p.file_name(), "01-aa-bb");
    }

    trait ToOwnedString {
        fn to_owned_string(&self) -> String;
    }
    impl ToOwnedString for str {
        fn to_owned_string(&self) -> String {
            String::from(self)
        }
    }

    #[test]
    fn quickcheck_never_leaves_the_root() {
        fn prop(name: Vec<u8>) -> bool {
            match safe_path(&name) {
                Ok(p) => p.components().all(|c| {
                    !c.is_empty() && c != "." && c != ".." && !c.contains(['/', '\\', ':', '\0'])
                }),
                Err(_) => true,
            }
        }
        quickcheck::quickcheck(prop as fn(Vec<u8>) -> bool);
    }
}
