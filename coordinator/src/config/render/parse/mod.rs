//! Parsing templates: the tree (`ast`), number literals (`number`) and the parser itself.

pub mod ast;
pub mod number;
pub mod parser;

pub use parser::{parse, ParseError, TreeSet};
