//! The JSON tree the ASL back-end builds definitions in.
//!
//! serde_json's `Value` (with ordered maps) hashes and allocates every key: a job with run
//! records is some 200 nodes, and building, walking and dropping those trees was over a
//! third of a large compile. Here keys and literal strings are `&'static str` where the
//! source has them, objects are vectors in insertion order (searched linearly; the few
//! large ones, the `States` of a machine, get a hash index), and [`tree!`] builds them
//! with the syntax of `serde_json::json!`. Its accessors mirror `Value`'s so that the
//! emitter reads the same; conversions both ways serve tests, templates and CloudFormation.

use serde_json::{Number, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// An object key or string: borrowed when it is a literal of the compiler.
pub type Str = Cow<'static, str>;

/// A JSON value.
#[derive(Debug, Clone, Default)]
pub enum Tree {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Str),
    Array(Vec<Tree>),
    Object(Map),
}

/// The index hashes generated state names, not hostile input: a fast fixed hash (std's
/// SipHash was a fiftieth of a large compile) that also keeps runs alike.
type Hasher = foldhash::fast::FixedState;

/// Objects with more entries than this get a hash index of their keys.
const INDEXED: usize = 16;

/// A JSON object in insertion order; inserting a key again replaces its value in place.
#[derive(Debug, Clone, Default)]
pub struct Map {
    entries: Vec<(Str, Tree)>,
    // Boxed: most objects have no index, and an empty `HashMap` would triple their size.
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<Str, usize, Hasher>>>,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    /// An empty object with room for `n` entries.
    pub fn with_capacity(n: usize) -> Map {
        Map {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    fn reindex(&mut self) {
        self.index = (self.entries.len() > INDEXED).then(|| {
            Box::new(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k.clone(), i))
                    .collect(),
            )
        });
    }

    /// Sets `key`, keeping its place if it was there; returns the value it replaced.
    pub fn insert(&mut self, key: impl Into<Str>, value: Tree) -> Option<Tree> {
        let key = key.into();
        if let Some(i) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.entries.len());
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() > INDEXED {
            self.reindex();
        }
        None
    }

    /// The object of a `tree!` literal, its entries in an exact-size vector (tiny objects
    /// such as `{"S": …}` are most of a definition). A key written twice in one literal is
    /// a bug in the back-end (tests run with the check).
    #[doc(hidden)]
    pub fn from_literal(entries: Vec<(Str, Tree)>) -> Map {
        debug_assert!(
            entries
                .iter()
                .enumerate()
                .all(|(i, (k, _))| entries[..i].iter().all(|(e, _)| e != k)),
            "a key twice in one tree! object"
        );
        let mut map = Map {
            entries,
            index: None,
        };
        if map.entries.len() > INDEXED {
            map.reindex();
        }
        map
    }

    pub fn get(&self, key: &str) -> Option<&Tree> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// The position of `key` in insertion order.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.position(key)
    }

    /// The value at position `i` (panics past the end, like a slice).
    pub fn value_at(&self, i: usize) -> &Tree {
        &self.entries[i].1
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Tree> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Removes `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Tree> {
        let i = self.position(key)?;
        let (_, v) = self.entries.remove(i);
        if self.index.is_some() {
            self.reindex();
        }
        Some(v)
    }

    /// Keeps the entries `keep` accepts, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Tree) -> bool) {
        let before = self.entries.len();
        self.entries.retain_mut(|(k, v)| keep(k, v));
        if self.index.is_some() && self.entries.len() != before {
            self.reindex();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Tree)> + DoubleEndedIterator {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&str, &mut Tree)> {
        self.entries.iter_mut().map(|(k, v)| (&**k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &Tree> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut Tree> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl IntoIterator for Map {
    type Item = (Str, Tree);
    type IntoIter = std::vec::IntoIter<(Str, Tree)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<S> From<indexmap::IndexMap<String, Tree, S>> for Map {
    /// The keys are unique already: appended without a lookup each, indexed once.
    fn from(states: indexmap::IndexMap<String, Tree, S>) -> Map {
        let mut m = Map {
            entries: states
                .into_iter()
                .map(|(k, v)| (Str::Owned(k), v))
                .collect(),
            index: None,
        };
        m.reindex();
        m
    }
}

impl<K: Into<Str>> FromIterator<(K, Tree)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Tree)>>(iter: I) -> Map {
        let mut m = Map::new();
        m.extend(iter);
        m
    }
}

impl<K: Into<Str>> Extend<(K, Tree)> for Map {
    fn extend<I: IntoIterator<Item = (K, Tree)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

/// Equal as JSON objects: the same keys with equal values, in any order (as `Value`).
impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl PartialEq for Tree {
    fn eq(&self, other: &Tree) -> bool {
        match (self, other) {
            (Tree::Null, Tree::Null) => true,
            (Tree::Bool(a), Tree::Bool(b)) => a == b,
            (Tree::Number(a), Tree::Number(b)) => a == b,
            (Tree::String(a), Tree::String(b)) => a == b,
            (Tree::Array(a), Tree::Array(b)) => a == b,
            (Tree::Object(a), Tree::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl PartialEq<str> for Tree {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Tree {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// Compares as JSON (the tests check trees against `json!` values).
impl PartialEq<Value> for Tree {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Tree::Null, Value::Null) => true,
            (Tree::Bool(a), Value::Bool(b)) => a == b,
            (Tree::Number(a), Value::Number(b)) => a == b,
            (Tree::String(a), Value::String(b)) => a == b,
            (Tree::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
            }
            (Tree::Object(a), Value::Object(b)) => {
                a.len() == b.len() && b.iter().all(|(k, y)| a.get(k).is_some_and(|x| x == y))
            }
            _ => false,
        }
    }
}

static NULL: Tree = Tree::Null;

impl std::ops::Index<&str> for Map {
    type Output = Tree;
    fn index(&self, key: &str) -> &Tree {
        self.get(key).unwrap_or(&NULL)
    }
}

/// An object from owned values, moved in (interpolating a `Tree` in [`tree!`] copies it).
pub fn object<const N: usize>(pairs: [(&'static str, Tree); N]) -> Tree {
    let mut m = Map::with_capacity(N);
    for (k, v) in pairs {
        m.insert(k, v);
    }
    Tree::Object(m)
}

impl Tree {
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Object(m) => m.get(key),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Tree> {
        match self {
            Tree::Object(m) => m.get_mut(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Tree::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Tree::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Tree::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Tree::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Tree>> {
        match self {
            Tree::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Tree>> {
        match self {
            Tree::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Tree::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Tree::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Tree::Null)
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Tree::String(_))
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Tree::Object(_))
    }

    /// Takes the value out, leaving `null`.
    pub fn take(&mut self) -> Tree {
        std::mem::take(self)
    }
}

type Entries<'a> =
    std::iter::Map<std::slice::Iter<'a, (Str, Tree)>, fn(&'a (Str, Tree)) -> (&'a str, &'a Tree)>;

fn entry((k, v): &(Str, Tree)) -> (&str, &Tree) {
    (k, v)
}

impl crate::back::json::Node for Tree {
    type Entries<'a> = Entries<'a>;
    fn view(&self) -> crate::back::json::View<'_, Tree> {
        use crate::back::json::View;
        match self {
            Tree::Null => View::Null,
            Tree::Bool(b) => View::Bool(*b),
            Tree::Number(n) => View::Number(n),
            Tree::String(s) => View::Str(s),
            Tree::Array(a) => View::Array(a),
            Tree::Object(m) => View::Object(m.entries.iter().map(entry as fn(_) -> _)),
        }
    }
}

/// `tree["key"]`: the value, or `null` when absent or not an object (as `Value`).
impl std::ops::Index<&str> for Tree {
    type Output = Tree;
    fn index(&self, key: &str) -> &Tree {
        self.get(key).unwrap_or(&NULL)
    }
}

/// `tree["key"] = …`: a `null` becomes an object and a missing key is added (as `Value`).
impl std::ops::IndexMut<&str> for Tree {
    fn index_mut(&mut self, key: &str) -> &mut Tree {
        if self.is_null() {
            *self = Tree::Object(Map::new());
        }
        let Tree::Object(m) = self else {
            panic!("cannot index a non-object JSON value with `{key}`");
        };
        let i = match m.position(key) {
            Some(i) => i,
            None => {
                m.insert(Str::Owned(key.to_string()), Tree::Null);
                m.len() - 1
            }
        };
        &mut m.entries[i].1
    }
}

impl std::ops::Index<usize> for Tree {
    type Output = Tree;
    fn index(&self, i: usize) -> &Tree {
        self.as_array().and_then(|a| a.get(i)).unwrap_or(&NULL)
    }
}

impl std::ops::IndexMut<usize> for Tree {
    fn index_mut(&mut self, i: usize) -> &mut Tree {
        match self {
            Tree::Array(a) => &mut a[i],
            _ => panic!("cannot index a non-array JSON value with {i}"),
        }
    }
}

/// How [`tree!`] turns an interpolated expression into a value (strings are copied).
pub trait ToTree {
    fn to_tree(&self) -> Tree;
}

/// How [`tree!`] turns a literal into a value: literal strings stay borrowed.
pub trait Lit {
    fn lit(self) -> Tree;
}

impl Lit for &'static str {
    fn lit(self) -> Tree {
        Tree::String(Cow::Borrowed(self))
    }
}

impl Lit for i32 {
    fn lit(self) -> Tree {
        Tree::Number(self.into())
    }
}

impl Lit for f64 {
    fn lit(self) -> Tree {
        self.to_tree()
    }
}

impl ToTree for String {
    fn to_tree(&self) -> Tree {
        Tree::String(Cow::Owned(self.clone()))
    }
}

impl ToTree for Str {
    fn to_tree(&self) -> Tree {
        Tree::String(self.clone())
    }
}

impl ToTree for Tree {
    fn to_tree(&self) -> Tree {
        self.clone()
    }
}

impl ToTree for Value {
    fn to_tree(&self) -> Tree {
        Tree::from(self)
    }
}

impl ToTree for bool {
    fn to_tree(&self) -> Tree {
        Tree::Bool(*self)
    }
}

macro_rules! numbers {
    ($($t:ty)*) => {$(
        impl ToTree for $t {
            fn to_tree(&self) -> Tree {
                Tree::Number(Number::from(*self))
            }
        }
        impl From<$t> for Tree {
            fn from(n: $t) -> Tree {
                Tree::Number(Number::from(n))
            }
        }
    )*};
}
numbers!(u8 u16 u32 u64 usize i32 i64);

impl ToTree for f64 {
    fn to_tree(&self) -> Tree {
        Number::from_f64(*self).map_or(Tree::Null, Tree::Number)
    }
}

impl<T: ToTree> ToTree for Option<T> {
    fn to_tree(&self) -> Tree {
        self.as_ref().map_or(Tree::Null, ToTree::to_tree)
    }
}

impl<T: ToTree> ToTree for Vec<T> {
    fn to_tree(&self) -> Tree {
        Tree::Array(self.iter().map(ToTree::to_tree).collect())
    }
}

impl<T: ToTree> ToTree for [T] {
    fn to_tree(&self) -> Tree {
        Tree::Array(self.iter().map(ToTree::to_tree).collect())
    }
}

impl<T: ToTree + ?Sized> ToTree for &T {
    fn to_tree(&self) -> Tree {
        (**self).to_tree()
    }
}

impl ToTree for str {
    fn to_tree(&self) -> Tree {
        Tree::String(Cow::Owned(self.to_string()))
    }
}

impl From<String> for Tree {
    fn from(s: String) -> Tree {
        Tree::String(Cow::Owned(s))
    }
}

impl From<&'static str> for Tree {
    fn from(s: &'static str) -> Tree {
        Tree::String(Cow::Borrowed(s))
    }
}

impl From<bool> for Tree {
    fn from(b: bool) -> Tree {
        Tree::Bool(b)
    }
}

impl From<Vec<Tree>> for Tree {
    fn from(a: Vec<Tree>) -> Tree {
        Tree::Array(a)
    }
}

impl From<Map> for Tree {
    fn from(m: Map) -> Tree {
        Tree::Object(m)
    }
}

impl From<&Value> for Tree {
    fn from(v: &Value) -> Tree {
        Tree::from(v.clone())
    }
}

impl From<Value> for Tree {
    fn from(v: Value) -> Tree {
        match v {
            Value::Null => Tree::Null,
            Value::Bool(b) => Tree::Bool(b),
            Value::Number(n) => Tree::Number(n),
            Value::String(s) => Tree::String(Cow::Owned(s)),
            Value::Array(a) => Tree::Array(a.into_iter().map(Tree::from).collect()),
            Value::Object(m) => {
                let mut out = Map::with_capacity(m.len());
                for (k, v) in m {
                    out.insert(k, Tree::from(v));
                }
                Tree::Object(out)
            }
        }
    }
}

impl From<&Tree> for Value {
    fn from(t: &Tree) -> Value {
        match t {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Number(n) => Value::Number(n.clone()),
            Tree::String(s) => Value::String(s.to_string()),
            Tree::Array(a) => Value::Array(a.iter().map(Value::from).collect()),
            Tree::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl serde::Serialize for Tree {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Tree::Null => s.serialize_unit(),
            Tree::Bool(b) => s.serialize_bool(*b),
            Tree::Number(n) => n.serialize(s),
            Tree::String(x) => s.serialize_str(x),
            Tree::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Tree::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Tree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Tree, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }
            fn visit_none<E>(self) -> Result<Tree, E> {
                Ok(Tree::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Tree, E> {
                Ok(Tree::Bool(b))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Tree, E> {
                Ok(Tree::Number(n.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Tree, E> {
                Ok(Tree::Number(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Tree, E> {
                Ok(Number::from_f64(n).map_or(Tree::Null, Tree::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Tree, E> {
                Ok(Tree::String(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Tree, E> {
                Ok(Tree::String(Cow::Owned(s)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
                let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0));
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Tree::Array(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
                let mut m = Map::with_capacity(a.size_hint().unwrap_or(0));
                while let Some((k, v)) = a.next_entry::<String, Tree>()? {
                    m.insert(k, v);
                }
                Ok(Tree::Object(m))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Builds a [`Tree`] with the syntax of `serde_json::json!`; interpolated expressions go
/// through [`ToTree`] (by reference, as `json!` does).
#[macro_export]
macro_rules! tree {
    ($($t:tt)+) => {
        $crate::tree_internal!($($t)+)
    };
}

/// The muncher behind [`tree!`] (after `serde_json::json_internal`).
#[macro_export]
#[doc(hidden)]
macro_rules! tree_internal {
    (@array [$($elems:expr,)*]) => { vec![$($elems,)*] };
    (@array [$($elems:expr),*]) => { vec![$($elems),*] };
    (@array [$($elems:expr,)*] null $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::tree_internal!(null)] $($rest)*)
    };
    (@array [$($elems:expr,)*] true $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::tree_internal!(true)] $($rest)*)
    };
    (@array [$($elems:expr,)*] false $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::tree_internal!(false)] $($rest)*)
    };
    (@array [$($elems:expr,)*] [$($array:tt)*] $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::tree_internal!([$($array)*])] $($rest)*)
    };
    (@array [$($elems:expr,)*] {$($map:tt)*} $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::tree_internal!({$($map)*})] $($rest)*)
    };
    (@array [$($elems:expr,)*] $next:literal, $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::back::tree::Lit::lit($next),] $($rest)*)
    };
    (@array [$($elems:expr,)*] $last:literal) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::back::tree::Lit::lit($last)])
    };
    (@array [$($elems:expr,)*] $next:expr, $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::tree_internal!($next),] $($rest)*)
    };
    (@array [$($elems:expr,)*] $last:expr) => {
        $crate::tree_internal!(@array [$($elems,)* $crate::tree_internal!($last)])
    };
    (@array [$($elems:expr),*] , $($rest:tt)*) => {
        $crate::tree_internal!(@array [$($elems,)*] $($rest)*)
    };

    (@object [$($out:expr,)*] () () ()) => { vec![$($out,)*] };
    (@object [$($out:expr,)*] [$key:literal] ($value:expr) , $($rest:tt)*) => {
        $crate::tree_internal!(@object [$($out,)* ($crate::back::tree::Str::Borrowed($key), $value),] () ($($rest)*) ($($rest)*))
    };
    (@object [$($out:expr,)*] [$key:literal] ($value:expr)) => {
        vec![$($out,)* ($crate::back::tree::Str::Borrowed($key), $value)]
    };
    (@object [$($out:expr,)*] [$($key:tt)+] ($value:expr) , $($rest:tt)*) => {
        $crate::tree_internal!(@object [$($out,)* ($crate::back::tree::Str::from($($key)+), $value),] () ($($rest)*) ($($rest)*))
    };
    (@object [$($out:expr,)*] [$($key:tt)+] ($value:expr)) => {
        vec![$($out,)* ($crate::back::tree::Str::from($($key)+), $value)]
    };
    (@object $out:tt ($($key:tt)+) (: null $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::tree_internal!(null)) $($rest)*)
    };
    (@object $out:tt ($($key:tt)+) (: true $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::tree_internal!(true)) $($rest)*)
    };
    (@object $out:tt ($($key:tt)+) (: false $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::tree_internal!(false)) $($rest)*)
    };
    (@object $out:tt ($($key:tt)+) (: [$($array:tt)*] $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::tree_internal!([$($array)*])) $($rest)*)
    };
    (@object $out:tt ($($key:tt)+) (: {$($map:tt)*} $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::tree_internal!({$($map)*})) $($rest)*)
    };
    (@object $out:tt ($($key:tt)+) (: $value:literal , $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::back::tree::Lit::lit($value)) , $($rest)*)
    };
    (@object $out:tt ($($key:tt)+) (: $value:literal) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::back::tree::Lit::lit($value)))
    };
    (@object $out:tt ($($key:tt)+) (: $value:expr , $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::tree_internal!($value)) , $($rest)*)
    };
    (@object $out:tt ($($key:tt)+) (: $value:expr) $copy:tt) => {
        $crate::tree_internal!(@object $out [$($key)+] ($crate::tree_internal!($value)))
    };
    (@object $out:tt () (($key:expr) : $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out ($key) (: $($rest)*) (: $($rest)*))
    };
    (@object $out:tt ($($key:tt)*) ($tt:tt $($rest:tt)*) $copy:tt) => {
        $crate::tree_internal!(@object $out ($($key)* $tt) ($($rest)*) ($($rest)*))
    };

    (null) => { $crate::back::tree::Tree::Null };
    (true) => { $crate::back::tree::Tree::Bool(true) };
    (false) => { $crate::back::tree::Tree::Bool(false) };
    ([]) => { $crate::back::tree::Tree::Array(vec![]) };
    ([ $($tt:tt)+ ]) => {
        $crate::back::tree::Tree::Array($crate::tree_internal!(@array [] $($tt)+))
    };
    ({}) => { $crate::back::tree::Tree::Object($crate::back::tree::Map::new()) };
    ({ $($tt:tt)+ }) => {
        $crate::back::tree::Tree::Object($crate::back::tree::Map::from_literal(
            $crate::tree_internal!(@object [] () ($($tt)+) ($($tt)+))
        ))
    };
    ($other:literal) => { $crate::back::tree::Lit::lit($other) };
    ($other:expr) => { $crate::back::tree::ToTree::to_tree(&$other) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_what_json_builds() {
        let name = String::from("job");
        let n = 3u64;
        let t = tree!({
            "Type": "Task",
            "Next": name,
            "Retry": [{"MaxAttempts": n, "BackoffRate": 2.0}],
            "End": true,
            "ResultPath": null,
            "Nested": {"a": [1, "x", false, {}], "b": []}
        });
        let v = json!({
            "Type": "Task",
            "Next": name,
            "Retry": [{"MaxAttempts": n, "BackoffRate": 2.0}],
            "End": true,
            "ResultPath": null,
            "Nested": {"a": [1, "x", false, {}], "b": []}
        });
        assert_eq!(Value::from(&t), v);
        assert_eq!(Tree::from(&v), t);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
        let back: Tree = serde_json::from_str(&v.to_string()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn maps_keep_order_and_replace_in_place_small_and_large() {
        for n in [5, 40] {
            let mut m = Map::new();
            for i in 0..n {
                m.insert(format!("k{i}"), Tree::from(i as u64));
            }
            assert_eq!(m.insert("k1", tree!("x")), Some(Tree::from(1u64)));
            assert_eq!(m.keys().nth(1), Some("k1"));
            assert_eq!(m.get("k1"), Some(&tree!("x")));
            assert_eq!(m.remove("k0"), Some(Tree::from(0u64)));
            assert_eq!(m.keys().next(), Some("k1"));
            assert_eq!(
                m.get(&format!("k{}", n - 1)),
                Some(&Tree::from(n as u64 - 1))
            );
            assert!(!m.contains_key("k0"));
            m.retain(|k, _| k != "k2");
            assert!(!m.contains_key("k2") && m.contains_key("k3"));
            assert_eq!(m.len(), n - 2);
        }
    }

    #[test]
    fn indexing_reads_null_and_writes_like_value() {
        let mut t = Tree::Null;
        t["a"]["b"] = tree!(1);
        assert_eq!(t["a"]["b"], tree!(1));
        assert!(t["missing"].is_null());
        assert!(t["a"]["b"]["c"].is_null());
        let arr = tree!([1, 2]);
        assert_eq!(arr[1], tree!(2));
        assert!(arr[5].is_null());
    }
}
