//! Order-preserving edits on YAML mappings (a `Vec` of pairs, like a Python dict).

use crate::yaml::Node;

pub(crate) fn index(map: &[(Node, Node)], key: &str) -> Option<usize> {
    map.iter().rposition(|(k, _)| k.as_str() == Some(key))
}

pub(crate) fn get<'a>(map: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    index(map, key).map(|i| &map[i].1)
}

pub(crate) fn get_mut<'a>(map: &'a mut [(Node, Node)], key: &str) -> Option<&'a mut Node> {
    index(map, key).map(move |i| &mut map[i].1)
}

/// Replace the value in place, or append the key at the end (Python dict assignment).
pub(crate) fn set(map: &mut Vec<(Node, Node)>, key: &str, value: Node) {
    match index(map, key) {
        Some(i) => map[i].1 = value,
        None => map.push((Node::str(key), value)),
    }
}

pub(crate) fn remove(map: &mut Vec<(Node, Node)>, key: &str) -> Option<Node> {
    index(map, key).map(|i| map.remove(i).1)
}
