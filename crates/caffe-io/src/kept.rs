//! Reading the fields kept from another dialect (`KeptField`, see
//! `proto/caffe.proto`): a layer type that models a fork field (OpenCV's
//! `ceil_mode`, py-faster-rcnn's `scale_train`) finds it by path and reads
//! its value as protobuf's text format writes it.

use crate::proto::KeptField;

impl KeptField {
    /// The field's path from its layer (or net), indexes left out:
    /// `"pooling_param.ceil_mode"`, `"bn_param"`; a field read from a binary
    /// file is named by its number (`"field 147"`).
    pub fn path(&self) -> String {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => format!("field {}", self.number()),
        };
        let parent: Vec<&str> = self
            .parent()
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| s.split('[').next().unwrap_or(s))
            .collect();
        if parent.is_empty() {
            name
        } else {
            format!("{}.{name}", parent.join("."))
        }
    }

    /// The value of a scalar field as written (`false` for
    /// `ceil_mode: false`); `None` for a message block or a binary field.
    pub fn scalar(&self) -> Option<&str> {
        let text = self.text.as_deref()?;
        // `name: value`: a block (`name {`, `name: {`) has no scalar value.
        let at = text.find([':', '{', '<'])?;
        if !text[at..].starts_with(':') {
            return None;
        }
        let value = &text[at + 1..];
        let value = value.trim().trim_end_matches([';', ',']).trim();
        (!value.is_empty() && !value.starts_with(['{', '<'])).then_some(value)
    }

    /// A boolean field's value, as protobuf's text format reads one
    /// (`true`/`True`/`t`/`1`, `false`/`False`/`f`/`0`).
    pub fn as_bool(&self) -> Result<bool, String> {
        match self.scalar() {
            Some("true" | "True" | "t" | "1") => Ok(true),
            Some("false" | "False" | "f" | "0") => Ok(false),
            _ => Err(format!("'{}' is not a boolean field", self.text())),
        }
    }
}

impl KeptField {
    /// Reads a kept message block (`bn_param { ... }`) as the fork message
    /// `caffe.<message>` (see `proto/caffe_forks.proto`), with protobuf's
    /// text rules: a field the message lacks, or a value of the wrong type,
    /// is an error naming the field and its line in the file.
    pub fn parse_block<M: prost::Message + Default>(&self, message: &str) -> Result<M, String> {
        let text = self.text.as_deref().ok_or_else(|| {
            format!(
                "'{}' was read from a binary file, which names it only by its number",
                self.path()
            )
        })?;
        let open = text
            .find(['{', '<'])
            .filter(|&at| !text[..at].contains(':') || text[..at].trim_end().ends_with(':'))
            .ok_or_else(|| format!("'{}' is not a message block", self.path()))?;
        let close = text
            .rfind(['}', '>'])
            .filter(|&at| at > open)
            .ok_or_else(|| format!("'{}' is not closed", self.path()))?;
        let inner = &text[open + 1..close];
        let desc = crate::text::pool()
            .get_message_by_name(&format!("caffe.{message}"))
            .ok_or_else(|| format!("caffe.{message} is not a message of netsurgeon's schemas"))?;
        let dynamic = prost_reflect::DynamicMessage::parse_text_format(desc, inner).map_err(|e| {
            use miette::Diagnostic as _;
            let offset = e.labels().and_then(|mut l| l.next()).map_or(0, |l| l.offset());
            let line = self.line() as usize + text[..open + 1 + offset.min(inner.len())].matches('\n').count();
            format!("{} {{ ... }}, line {line}: {e}", self.path())
        })?;
        dynamic.transcode_to::<M>().map_err(|e| format!("{}: {e}", self.path()))
    }
}

/// The kept field at `path` (see [`KeptField::path`]), if any.
pub fn find<'a>(kept: &'a [KeptField], path: &str) -> Option<&'a KeptField> {
    kept.iter().find(|k| k.path() == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(parent: &str, name: &str, text: &str) -> KeptField {
        KeptField {
            parent: Some(parent.into()),
            name: Some(name.into()),
            text: Some(text.into()),
            ..Default::default()
        }
    }

    #[test]
    fn paths_values_and_booleans() {
        let k = kept("pooling_param", "ceil_mode", "ceil_mode: false");
        assert_eq!(k.path(), "pooling_param.ceil_mode");
        assert_eq!(k.scalar(), Some("false"));
        assert_eq!(k.as_bool(), Ok(false));
        assert_eq!(kept("", "x", "x: True;").as_bool(), Ok(true));
        assert!(kept("", "x", "x: 2").as_bool().is_err());
        assert_eq!(kept("param[1]", "y", "y { a: 1 }").scalar(), None);
        assert_eq!(kept("param[1]", "y", "y { a: 1 }").path(), "param.y");
        let binary = KeptField {
            number: Some(147),
            ..Default::default()
        };
        assert_eq!(binary.path(), "field 147");
        let all = [k.clone(), binary];
        assert_eq!(find(&all, "pooling_param.ceil_mode"), Some(&k));
    }

    #[test]
    fn blocks_parse_as_their_fork_message() {
        use crate::proto::InterpParameter;
        let mut k = kept("", "interp_param", "interp_param {\n  zoom_factor: 2\n  pad_end: -1\n}");
        k.line = Some(10);
        let p: InterpParameter = k.parse_block("InterpParameter").unwrap();
        assert_eq!((p.zoom_factor(), p.pad_end(), p.height.is_some()), (2, -1, false));
        let bad = KeptField {
            text: Some("interp_param {\n  zoom_factor: 2\n  zoom: 3\n}".into()),
            ..k
        };
        let err = bad.parse_block::<InterpParameter>("InterpParameter").unwrap_err();
        assert!(
            err.starts_with("interp_param { ... }, line 12:") && err.contains("zoom"),
            "{err}"
        );
    }
}
