//! Typed indices into append-only arenas: the IR is a set of arenas, never an `Rc` graph.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A typed index into an [`Arena<T>`]. Copyable, comparable and ordered by insertion.
pub struct Id<T> {
    index: u32,
    marker: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// Builds an id from a raw index; only arenas and tests should need this.
    pub fn from_index(index: usize) -> Self {
        Id {
            index: u32::try_from(index).expect("arena index fits in u32"),
            marker: PhantomData,
        }
    }

    /// The position of the item in its arena.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index.cmp(&other.index)
    }
}
impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.index)
    }
}

/// An append-only vector addressed by [`Id<T>`].
#[derive(Debug, Clone)]
pub struct Arena<T> {
    items: Vec<T>,
    /// Id of the first item: 0 but for arenas that continue another one (see
    /// [`Arena::continuing`]).
    base: usize,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            items: Vec::new(),
            base: 0,
        }
    }
}

impl<T> Arena<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty arena whose ids start at `base`: items built apart (on another thread)
    /// with the ids they will have once appended to an arena of `base` items. Indexing it
    /// below `base` panics.
    pub fn continuing(base: usize) -> Self {
        Arena {
            items: Vec::new(),
            base,
        }
    }

    /// Id of the first item (0 unless [`Arena::continuing`]).
    pub fn base(&self) -> usize {
        self.base
    }

    pub fn alloc(&mut self, item: T) -> Id<T> {
        let id = Id::from_index(self.base + self.items.len());
        self.items.push(item);
        id
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Room for `additional` more items without growing.
    pub fn reserve(&mut self, additional: usize) {
        self.items.reserve_exact(additional);
    }

    /// The items in id order (for moving them into another arena).
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (Id<T>, &T)> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, t)| (Id::from_index(self.base + i), t))
    }

    pub fn ids(&self) -> impl Iterator<Item = Id<T>> {
        (self.base..self.base + self.items.len()).map(Id::from_index)
    }
}

impl<T> std::ops::Index<Id<T>> for Arena<T> {
    type Output = T;
    fn index(&self, id: Id<T>) -> &T {
        &self.items[id.index() - self.base]
    }
}

impl<T> std::ops::IndexMut<Id<T>> for Arena<T> {
    fn index_mut(&mut self, id: Id<T>) -> &mut T {
        &mut self.items[id.index() - self.base]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_typed_and_ordered() {
        let mut a: Arena<&str> = Arena::new();
        let x = a.alloc("x");
        let y = a.alloc("y");
        assert!(x < y);
        assert_eq!(a[y], "y");
        assert_eq!(a.ids().collect::<Vec<_>>(), vec![x, y]);
        let mut b: Arena<&str> = Arena::continuing(2);
        let z = b.alloc("z");
        assert_eq!((z.index(), b[z], b.len(), b.base()), (2, "z", 1, 2));
        assert_eq!(b.iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![z]);
    }
}
