//! The tolerant half of prototxt reading: finds the fields that `caffe.proto`
//! does not know (a fork's `bn_param { ... }`, OpenCV's `ceil_mode: false`),
//! cuts each one out of the text verbatim and blanks it, so that the strict
//! parser reads the rest and the field can be written back by every save.
//!
//! Blanking replaces every byte but newlines with a space: the line and
//! column of everything the strict parser reports stay those of the file.
//! Fields inside a net's `layer { ... }` blocks are kept with their layer;
//! fields of the net itself are kept with the net, fields of legacy `layers`
//! (V1) blocks with theirs (the upgrade to V2 carries them over).
//! When the text does not scan (a syntax error), nothing is kept and the
//! strict parser reports the error where it is.

use prost_reflect::{Kind, MessageDescriptor};

/// A field cut out of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The layer (or net) the field belongs to.
    pub holder: Holder,
    /// The message holding it, from the layer (or net): "", "pooling_param",
    /// "param[1]".
    pub parent: String,
    pub name: String,
    /// 1-based line of the field's first character.
    pub line: usize,
    /// The field as written, continuation lines re-indented relative to the
    /// field's first character.
    pub text: String,
}

/// What holds a kept field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Net,
    /// Index among the net's `layer` blocks.
    Layer(usize),
    /// Index among the net's legacy `layers` blocks.
    Legacy(usize),
}

/// The text with every unknown field blanked, and the fields cut out.
#[derive(Debug)]
pub struct Scanned {
    pub blanked: String,
    pub cuts: Vec<Cut>,
}

/// Scans a prototxt against the `NetParameter` descriptor. `None` when it
/// does not scan or holds no unknown field (parse the text as it is).
pub fn scan_net(text: &str, net: &MessageDescriptor) -> Option<Scanned> {
    let tokens = tokenize(text)?;
    let mut scanner = Scanner {
        text,
        tokens: &tokens,
        at: 0,
        spans: Vec::new(),
        cuts: Vec::new(),
    };
    scanner.message(net, Holder::Net, "", false)?;
    if scanner.at != tokens.len() || scanner.cuts.is_empty() {
        return None;
    }
    let mut blanked = text.as_bytes().to_vec();
    for &(start, end) in &scanner.spans {
        for b in &mut blanked[start..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    // Only whole UTF-8 sequences were replaced, by ASCII spaces.
    let blanked = String::from_utf8(blanked).ok()?;
    Some(Scanned {
        blanked,
        cuts: scanner.cuts,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    /// An identifier, number, `-` or other bare word.
    Word,
    Str,
    Open(u8),
    Close(u8),
    Colon,
    Separator,
    OpenList,
    CloseList,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                i += 1;
                loop {
                    match bytes.get(i)? {
                        b'\\' => i += 2,
                        b'\n' => return None,
                        &q if q == c => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                tokens.push(Token {
                    kind: Tok::Str,
                    start,
                    end: i,
                });
                continue;
            }
            b'{' | b'<' => Tok::Open(c),
            b'}' | b'>' => Tok::Close(c),
            b':' => Tok::Colon,
            b';' | b',' => Tok::Separator,
            b'[' => Tok::OpenList,
            b']' => Tok::CloseList,
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' || c == b'+' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'+' | b'-'))
                {
                    // A sign only starts a word or follows an exponent.
                    if matches!(bytes[i], b'+' | b'-') && i > start && !matches!(bytes[i - 1], b'e' | b'E') {
                        break;
                    }
                    i += 1;
                }
                tokens.push(Token {
                    kind: Tok::Word,
                    start,
                    end: i,
                });
                continue;
            }
            _ => return None,
        };
        i += 1;
        tokens.push(Token { kind, start, end: i });
    }
    Some(tokens)
}

struct Scanner<'t> {
    text: &'t str,
    tokens: &'t [Token],
    at: usize,
    spans: Vec<(usize, usize)>,
    cuts: Vec<Cut>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.at).copied()
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.peek()?;
        self.at += 1;
        Some(t)
    }

    fn word(&self, t: Token) -> &str {
        &self.text[t.start..t.end]
    }

    /// Scans fields up to the end of the message (a closing brace, left for
    /// the caller, or the end of the text at the top).
    fn message(&mut self, desc: &MessageDescriptor, ctx: Holder, path: &str, nested: bool) -> Option<()> {
        let (mut layer_count, mut legacy_count) = (0usize, 0usize);
        let mut seen: Vec<(String, usize)> = Vec::new();
        loop {
            let Some(first) = self.peek() else {
                return if nested { None } else { Some(()) };
            };
            if let Tok::Close(_) = first.kind {
                return if nested { Some(()) } else { None };
            }
            let name = self.field_name()?;
            let field = desc.get_field_by_name(&name);
            let is_net = matches!(ctx, Holder::Net);
            let is_layer = is_net && (name == "layer" || name == "layers");
            let child_ctx = match ctx {
                Holder::Net if name == "layer" => {
                    layer_count += 1;
                    Holder::Layer(layer_count - 1)
                }
                Holder::Net if name == "layers" => {
                    legacy_count += 1;
                    Holder::Legacy(legacy_count - 1)
                }
                other => other,
            };
            let occurrence = match seen.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => {
                    *count += 1;
                    *count - 1
                }
                None => {
                    seen.push((name.clone(), 1));
                    0
                }
            };
            let child_path = if is_layer {
                String::new()
            } else {
                let segment = match &field {
                    Some(f) if f.is_list() => format!("{name}[{occurrence}]"),
                    _ => name.clone(),
                };
                if path.is_empty() {
                    segment
                } else {
                    format!("{path}.{segment}")
                }
            };
            let child_desc = field.as_ref().and_then(|f| match f.kind() {
                Kind::Message(m) => Some(m),
                _ => None,
            });
            self.value(child_desc.as_ref(), child_ctx, &child_path)?;
            let end = self.tokens[self.at - 1].end;
            if let Some(Token {
                kind: Tok::Separator, ..
            }) = self.peek()
            {
                self.at += 1;
            }
            let cut_end = self.tokens[self.at - 1].end;
            if field.is_none() {
                self.cuts.push(Cut {
                    holder: ctx,
                    parent: path.to_string(),
                    name,
                    line: self.text[..first.start].matches('\n').count() + 1,
                    text: self.verbatim(first.start, end),
                });
                self.spans.push((first.start, cut_end));
            }
        }
    }

    /// A field name: an identifier, or an extension's `[a.b.c]`.
    fn field_name(&mut self) -> Option<String> {
        let t = self.next()?;
        match t.kind {
            Tok::Word => Some(self.word(t).to_string()),
            Tok::OpenList => {
                let start = t.start;
                loop {
                    let t = self.next()?;
                    if t.kind == Tok::CloseList {
                        return Some(self.text[start..t.end].to_string());
                    }
                }
            }
            _ => None,
        }
    }

    /// The value after a field name: `: scalar`, `[: ]{ message }`, or a list.
    fn value(&mut self, desc: Option<&MessageDescriptor>, ctx: Holder, path: &str) -> Option<()> {
        let colon = self.peek()?.kind == Tok::Colon;
        if colon {
            self.at += 1;
        }
        let t = self.peek()?;
        match t.kind {
            Tok::Open(_) => self.block(desc, ctx, path),
            Tok::OpenList => {
                self.at += 1;
                let mut index = 0;
                loop {
                    let t = self.peek()?;
                    match t.kind {
                        Tok::CloseList => {
                            self.at += 1;
                            return Some(());
                        }
                        Tok::Separator => self.at += 1,
                        Tok::Open(_) => {
                            let item_path = match path.rfind('[') {
                                Some(at) => format!("{}[{index}]", &path[..at]),
                                None => path.to_string(),
                            };
                            self.block(desc, ctx, &item_path)?;
                            index += 1;
                        }
                        _ => self.scalar()?,
                    }
                }
            }
            _ if colon => self.scalar(),
            _ => None,
        }
    }

    fn block(&mut self, desc: Option<&MessageDescriptor>, ctx: Holder, path: &str) -> Option<()> {
        let open = self.next()?;
        let Tok::Open(c) = open.kind else { return None };
        let close = if c == b'{' { b'}' } else { b'>' };
        match desc {
            Some(d) => self.message(d, ctx, path, true)?,
            // An unknown message: its content is kept whole, only skipped here.
            None => self.skip_to_close()?,
        }
        let t = self.next()?;
        (t.kind == Tok::Close(close)).then_some(())
    }

    fn skip_to_close(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()?.kind {
                Tok::Open(_) => depth += 1,
                Tok::Close(_) if depth == 0 => return Some(()),
                Tok::Close(_) => depth -= 1,
                _ => {}
            }
            self.at += 1;
        }
    }

    /// One scalar: a word (`-` and a number are one), or adjacent strings.
    fn scalar(&mut self) -> Option<()> {
        let t = self.next()?;
        match t.kind {
            Tok::Word => {
                if self.word(t) == "-" {
                    let n = self.next()?;
                    (n.kind == Tok::Word).then_some(())
                } else {
                    Some(())
                }
            }
            Tok::Str => {
                while let Some(Token { kind: Tok::Str, .. }) = self.peek() {
                    self.at += 1;
                }
                Some(())
            }
            _ => None,
        }
    }

    /// The text of `start..end`, its continuation lines shifted left by the
    /// column of `start` (where they are indented at least that far).
    fn verbatim(&self, start: usize, end: usize) -> String {
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let column = start - line_start;
        let mut out = String::new();
        for (i, line) in self.text[start..end].split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
                out.push_str(&line[indent.min(column)..]);
            } else {
                out.push_str(line);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Option<Scanned> {
        scan_net(text, &crate::text::message("NetParameter"))
    }

    #[test]
    fn keeps_a_fork_block_and_a_fork_field_with_their_layers() {
        let text = "name: 'n'\nlayer {\n  name: 'bn'\n  type: 'BN'\n  bn_param {\n    scale_filler { type: 'constant' value: 1 }\n    bn_mode: INFERENCE\n  }\n}\nlayer {\n  name: 'pool'\n  type: 'Pooling'\n  pooling_param { pool: MAX kernel_size: 3 ceil_mode: false }\n}\n";
        let s = scan(text).unwrap();
        assert_eq!(s.cuts.len(), 2);
        assert_eq!(s.cuts[0].holder, Holder::Layer(0));
        assert_eq!(s.cuts[0].parent, "");
        assert_eq!(s.cuts[0].name, "bn_param");
        assert_eq!(
            s.cuts[0].text,
            "bn_param {\n  scale_filler { type: 'constant' value: 1 }\n  bn_mode: INFERENCE\n}"
        );
        assert_eq!(s.cuts[1].holder, Holder::Layer(1));
        assert_eq!(s.cuts[1].parent, "pooling_param");
        assert_eq!(s.cuts[1].text, "ceil_mode: false");
        // Same length, same lines: the strict parser's positions are the file's.
        assert_eq!(s.blanked.len(), text.len());
        assert_eq!(s.blanked.matches('\n').count(), text.matches('\n').count());
        assert!(!s.blanked.contains("bn_param") && !s.blanked.contains("ceil_mode"));
        assert!(s.blanked.contains("kernel_size: 3"));
    }

    #[test]
    fn keeps_net_fields_and_paths_into_repeated_messages() {
        let text = "fork_net_flag: true\nlayer { name: 'c' param { lr_mult: 1 } param { lr_mult: 2 fork_x: 3 } }";
        let s = scan(text).unwrap();
        assert_eq!(s.cuts[0].holder, Holder::Net);
        assert_eq!(s.cuts[0].text, "fork_net_flag: true");
        assert_eq!(s.cuts[1].holder, Holder::Layer(0));
        assert_eq!(s.cuts[1].parent, "param[1]");
        assert_eq!(s.cuts[1].text, "fork_x: 3");
    }

    #[test]
    fn leaves_known_text_and_syntax_errors_to_the_strict_parser() {
        assert!(scan("layer { name: 'a' type: 'ReLU' }").is_none());
        assert!(scan("layer { name: 'a' fork_x: 1 ").is_none());
        assert!(scan("layer { name: 'a' fork_x: }").is_none());
    }

    #[test]
    fn keeps_fields_of_legacy_layers_with_them() {
        let s = scan("layers { name: 'a' } layers { name: 'b' convolution_param { hole: 2 } }").unwrap();
        assert_eq!(s.cuts[0].holder, Holder::Legacy(1));
        assert_eq!(s.cuts[0].parent, "convolution_param");
    }

    #[test]
    fn scans_strings_lists_negatives_and_comments() {
        let text = "layer { name: 'a' 'b' # fork_y: 1\n fork_list: [1, -2.5e-3, 4] fork_s: \"x\\\"}\" fork_neg: -inf; top: 'z' }";
        let s = scan(text).unwrap();
        let names: Vec<_> = s.cuts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["fork_list", "fork_s", "fork_neg"]);
        assert_eq!(s.cuts[2].text, "fork_neg: -inf");
        assert!(s.blanked.contains("top: 'z'"));
    }
}
