//! The integration tests of netsurgeon-render.

mod render;
