//! The folder device against a trivially correct model: random sequences of writes, abandoned
//! writes, renames, deletes and reopenings leave exactly the model's files, contents and IDs.

use std::collections::BTreeMap;

use proptest::prelude::*;
use wmdm::flags::OpenMode;
use wmdm::provider::{CreateRequest, NoProgress, Storage};
use wmdm::providers::fs::{DeviceOptions, FsDevice};

const NAMES: &[&str] = &["a.mp3", "B.mp3", "c d.flac", "e", "zz.wma"];

#[derive(Clone, Debug)]
enum Op {
    Write { name: usize, len: usize, fill: u8 },
    Abandon { name: usize },
    Rename { from: usize, to: usize },
    Delete { name: usize },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..NAMES.len();
    prop_oneof![
        (n.clone(), 0..300usize, any::<u8>()).prop_map(|(name, len, fill)| Op::Write {
            name,
            len,
            fill
        }),
        n.clone().prop_map(|name| Op::Abandon { name }),
        (n.clone(), n.clone()).prop_map(|(from, to)| Op::Rename { from, to }),
        n.prop_map(|name| Op::Delete { name }),
        Just(Op::Reopen),
    ]
}

fn device(path: &std::path::Path) -> FsDevice {
    FsDevice::open(path, DeviceOptions::default().durable(false)).unwrap()
}

proptest! {
    #[test]
    fn device_matches_model(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut dev = device(dir.path());
        // name -> (content, unique id)
        let mut model: BTreeMap<String, (Vec<u8>, String)> = BTreeMap::new();
        for op in ops {
            let root = dev.root();
            match op {
                Op::Write { name, len, fill } => {
                    let name = NAMES[name];
                    let s = match root.child(name) {
                        Ok(s) => s,
                        Err(_) => root.create(&CreateRequest::file(name)).unwrap(),
                    };
                    let mut io = s.open(OpenMode::WRITE).unwrap();
                    io.write(&vec![fill; len]).unwrap();
                    io.close().unwrap();
                    let id = s.unique_id().unwrap();
                    if let Some((_, old)) = model.get(name) {
                        prop_assert_eq!(old, &id, "a rewrite keeps the ID");
                    }
                    model.insert(name.to_string(), (vec![fill; len], id));
                }
                Op::Abandon { name } => {
                    let name = NAMES[name];
                    let s = match root.child(name) {
                        Ok(s) => s,
                        Err(_) => root.create(&CreateRequest::file(name)).unwrap(),
                    };
                    let mut io = s.open(OpenMode::WRITE).unwrap();
                    io.write(b"never visible").unwrap();
                    drop(io);
                }
                Op::Rename { from, to } => {
                    let (from, to) = (NAMES[from], NAMES[to]);
                    if let Ok(s) = root.child(from) {
                        let r = s.rename(to, &mut NoProgress);
                        if from == to || model.contains_key(to) {
                            prop_assert!(r.is_err() || from == to);
                        } else {
                            r.unwrap();
                            let entry = model.remove(from).unwrap();
                            prop_assert_eq!(&entry.1, &s.unique_id().unwrap());
                            model.insert(to.to_string(), entry);
                        }
                    }
                }
                Op::Delete { name } => {
                    let name = NAMES[name];
                    if let Ok(s) = root.child(name) {
                        s.delete(false, &mut NoProgress).unwrap();
                        model.remove(name);
                    }
                }
                Op::Reopen => {
                    dev.flush().unwrap();
                    drop(root);
                    dev = device(dir.path());
                }
            }
            let listed = dev.root().children().unwrap();
            let names: Vec<String> = listed.iter().map(|c| c.name().unwrap()).collect();
            let expected: Vec<String> = model.keys().cloned().collect();
            prop_assert_eq!(&names, &expected);
            for c in &listed {
                let (content, id) = &model[&c.name().unwrap()];
                prop_assert_eq!(&c.unique_id().unwrap(), id);
                let mut io = c.open(OpenMode::READ).unwrap();
                let mut buf = vec![0u8; 400];
                let mut got = Vec::new();
                loop {
                    let n = io.read(&mut buf).unwrap();
                    if n == 0 { break; }
                    got.extend_from_slice(&buf[..n]);
                }
                prop_assert_eq!(&got, content);
            }
            let on_disk = std::fs::read_dir(dir.path()).unwrap().count();
            prop_assert_eq!(on_disk, model.len() + 1, "only the model's files and .wmdm");
        }
    }
}
