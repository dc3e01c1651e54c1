//! Pure logic of notices, no IO: categories, Markdown rendering and sanitising, templates and
//! their variables, the Atom feed, masking of destinations.

pub mod category;
pub mod feed;
pub mod markdown;
pub mod mask;
pub mod template;
