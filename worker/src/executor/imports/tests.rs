//! Unit tests of the import archive rewriting and owner resolution (no engine needed).

use super::*;

fn archive(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(5);
        h.set_gid(6);
        match data {
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(d.len() as u64);
                b.append_data(&mut h, path, d.as_bytes()).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn listing(archive: &[u8]) -> Vec<(String, u64, u64)> {
    let mut r = tar::Archive::new(archive);
    r.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let path = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string();
            (path, e.header().uid().unwrap(), e.header().gid().unwrap())
        })
        .collect()
}

fn source() -> Vec<u8> {
    archive(&[
        ("src/", None),
        ("src/a.txt", Some("a")),
        ("src/b.log", Some("b")),
        ("src/sub/", None),
        ("src/sub/c.txt", Some("c")),
        ("src/sub/skip/", None),
        ("src/sub/skip/d.txt", Some("d")),
        ("src/other/", None),
        ("src/other/e.txt", Some("e")),
    ])
}

#[test]
fn include_keeps_matches_their_contents_and_leading_dirs() {
    let f = Filter::new(&["*.txt".into(), "sub".into()], &["sub/skip".into()]).unwrap();
    let out = rewrite(&source(), "/app", &f, Ownership::default()).unwrap();
    let paths: Vec<String> = listing(&out).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(paths, ["app", "app/a.txt", "app/sub", "app/sub/c.txt"]);
}

#[test]
fn deep_globs_cross_directories() {
    let f = Filter::new(&["**/*.txt".into()], &["other/**".into()]).unwrap();
    let out = rewrite(&source(), "/x/y/", &f, Ownership::default()).unwrap();
    let paths: Vec<String> = listing(&out).into_iter().map(|(p, _, _)| p).collect();
    assert_eq!(
        paths,
        [
            "x/y",
            "x/y/a.txt",
            "x/y/sub",
            "x/y/sub/c.txt",
            "x/y/sub/skip",
            "x/y/sub/skip/d.txt"
        ]
    );
}

#[test]
fn no_filter_copies_everything_and_owner_applies() {
    let f = Filter::new(&[], &[]).unwrap();
    let owner = Ownership {
        uid: Some(1000),
        gid: None,
    };
    let out = rewrite(&source(), "/app", &f, owner).unwrap();
    let list = listing(&out);
    assert_eq!(list.len(), 9);
    assert!(list.iter().all(|(_, uid, gid)| *uid == 1000 && *gid == 6));
}

#[test]
fn a_single_file_lands_at_to() {
    let one = archive(&[("file.conf", Some("x"))]);
    let out = rewrite(
        &one,
        "/etc/app.conf",
        &Filter::new(&[], &[]).unwrap(),
        Ownership::default(),
    )
    .unwrap();
    assert_eq!(listing(&out), [("etc/app.conf".to_string(), 5, 6)]);
}

#[test]
fn owners_resolve_by_number_or_name() {
    let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    let groups = "root:x:0:\napp:x:1000:\nstaff:x:50:app\n";
    assert_eq!(
        resolve_ownership("app", "staff", passwd, groups).unwrap(),
        Ownership {
            uid: Some(1000),
            gid: Some(50)
        }
    );
    assert_eq!(
        resolve_ownership("42", "", passwd, groups).unwrap(),
        Ownership {
            uid: Some(42),
            gid: None
        }
    );
    assert!(matches!(
        resolve_ownership("ghost", "", passwd, groups),
        Err(ImportError::UnknownUser(_))
    ));
    assert!(matches!(
        resolve_ownership("", "ghosts", passwd, groups),
        Err(ImportError::UnknownGroup(_))
    ));
}
