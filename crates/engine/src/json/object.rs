//! JSON objects: members in insertion order (as RedisJSON keeps them). Most objects are small, so
//! they are a plain vector searched linearly, with no hash table to allocate, fill and free per
//! object; from [`INDEX_FROM`] members on, a name → position index is kept beside it.

use std::collections::HashMap;

use super::Json;

/// Member count from which lookups go through a hash index.
const INDEX_FROM: usize = 16;

/// A JSON object.
#[derive(Debug, Clone, Default)]
pub struct Object {
    entries: Vec<(String, Json)>,
    index: Option<HashMap<String, usize, crate::value::Hasher>>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(ix) => ix.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    fn reindex(&mut self) {
        self.index =
            (self.entries.len() >= INDEX_FROM).then(|| self.entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
    }

    /// The member `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// The member `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    /// True if `key` is a member.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` (in place if present, else appended); returns the old value.
    pub fn insert(&mut self, key: String, value: Json) -> Option<Json> {
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        if let Some(ix) = self.index.as_mut() {
            ix.insert(key.clone(), self.entries.len());
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() >= INDEX_FROM {
            self.reindex();
        }
        None
    }

    /// The member `key`, inserted as `value` first if missing.
    pub fn get_or_insert(&mut self, key: String, value: Json) -> &mut Json {
        let i = match self.position(&key) {
            Some(i) => i,
            None => {
                self.insert(key, value);
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    /// Removes `key`, keeping the order of the others; returns its value.
    pub fn shift_remove(&mut self, key: &str) -> Option<Json> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        if self.index.is_some() {
            self.reindex();
        }
        Some(v)
    }

    /// Removes every member.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    /// Members in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &Json)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Member names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// Member values in order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Json> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

/// Objects are equal when they have the same members with equal values, in any order.
impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_lookup_and_index_agree() {
        let mut o = Object::new();
        for i in 0..40 {
            assert_eq!(o.insert(format!("k{i}"), Json::Int(i)), None);
            assert!(o.index.is_some() == (o.len() >= INDEX_FROM));
        }
        assert_eq!(o.insert("k3".into(), Json::Int(-3)), Some(Json::Int(3)));
        assert_eq!(o.shift_remove("k0"), Some(Json::Int(0)));
        assert_eq!(o.keys().next().map(String::as_str), Some("k1"));
        for i in 1..40 {
            let want = if i == 3 { -3 } else { i };
            assert_eq!(o.get(&format!("k{i}")), Some(&Json::Int(want)), "k{i}");
        }
        assert_eq!(o.get("k0"), None);
        *o.get_or_insert("new".into(), Json::Null) = Json::Bool(true);
        assert_eq!(o.keys().last().map(String::as_str), Some("new"));
        let mut small = Object::new();
        small.insert("b".into(), Json::Int(1));
        small.insert("a".into(), Json::Int(2));
        let mut other = Object::new();
        other.insert("a".into(), Json::Int(2));
        other.insert("b".into(), Json::Int(1));
        assert_eq!(small, other);
        o.clear();
        assert!(o.is_empty() && o.index.is_none());
    }
}
