//! lxc-ps placeholder
