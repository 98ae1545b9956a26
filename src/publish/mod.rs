//! Publishing SDKs: release tags and versions (`version`), what the built
//! files hold (`artifacts`), PyPI's upload API (`pypi`), the npm registry
//! (`npm`), trusted publishing through GitHub's OIDC tokens (`oidc`) and
//! the shared HTTP client (`http`); `target` answers everything that
//! differs between PyPI and npm.

pub mod artifacts;
pub mod http;
pub mod npm;
pub mod oidc;
pub mod pypi;
pub mod target;
pub mod version;
