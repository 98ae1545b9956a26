//! Task definitions travel as raw JSON through the SDK: its model would
//! drop fields newer than this build (and cannot be built from a file).
//! These interceptors swap in the request body we wrote and keep the
//! response body the service sent, so the SDK still signs, retries and
//! parses everything else.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::{Arc, Mutex};

/// Replaces the serialized request body before it is signed.
#[derive(Debug)]
pub(super) struct ReplaceBody(pub Vec<u8>);

impl Intercept for ReplaceBody {
    fn name(&self) -> &'static str {
        "gantry-replace-body"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.0.clone());
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        Ok(())
    }
}

/// Keeps a copy of the (buffered) response body.
#[derive(Debug, Clone, Default)]
pub(super) struct CaptureBody(pub Arc<Mutex<Option<Vec<u8>>>>);

impl CaptureBody {
    pub(super) fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().ok().and_then(|mut b| b.take())
    }
}

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "gantry-capture-body"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let (Some(bytes), Ok(mut slot)) = (context.response().body().bytes(), self.0.lock()) {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}
