//! The chain file (`ascmhl_chain.xml`): the ordered list of a history's generations with the C4 id of each
//! generation file, so that editing or replacing an earlier generation is detectable.

use super::parse::{Ctx, MhlError, check_namespaces, leaf_text, parse_hash, relative_path, set_once};
use super::write::{XmlOut, hash_element};
use super::xml::{parse_document, strip_bom};
use super::{MHL_DIRECTORY_NAMESPACE, MhlHash};
use crate::c4::c4_id;
use crate::digest::HashAlgorithm;
use crate::path::RelativePath;

/// File name of the chain inside the history folder.
pub const CHAIN_FILE_NAME: &str = "ascmhl_chain.xml";

/// One generation listed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainGeneration {
    pub sequence_nr: u32,
    /// File name of the generation inside the history folder.
    pub path: RelativePath,
    pub c4: MhlHash,
}

/// The chain of generations of one history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MhlChain {
    pub generations: Vec<ChainGeneration>,
}

/// A generation that does not match its chain entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("the chain lists no generation {0}")]
    UnknownGeneration(u32),
    #[error(
        "generation {sequence_nr} (`{path}`) has C4 id {actual}, the chain recorded {expected}: the file was altered"
    )]
    Altered { sequence_nr: u32, path: String, expected: String, actual: String },
}

impl MhlChain {
    /// Parses a chain file.
    pub fn parse(bytes: &[u8]) -> Result<MhlChain, MhlError> {
        let bytes = strip_bom(bytes);
        let root = parse_document(bytes)?;
        if root.name != "ascmhldirectory" || root.namespace.as_deref() != Some(MHL_DIRECTORY_NAMESPACE) {
            return Err(MhlError::Root {
                found: root.name,
                namespace: root.namespace,
                expected: "ascmhldirectory",
                expected_namespace: MHL_DIRECTORY_NAMESPACE,
            });
        }
        let ctx = Ctx::root(bytes, &root);
        check_namespaces(&ctx, &root, MHL_DIRECTORY_NAMESPACE)?;
        let mut generations: Vec<ChainGeneration> = Vec::with_capacity(root.children.len());
        for (i, child) in root.children.iter().enumerate() {
            let c = ctx.child(&child.name, Some(i), child);
            if child.name != "hashlist" {
                return Err(ctx.unexpected(child));
            }
            let number = child.attribute("sequencenr").ok_or_else(|| c.missing("sequencenr attribute"))?;
            let sequence_nr: u32 =
                number.trim().parse().map_err(|_| c.value(number, "sequencenr is a positive whole number"))?;
            if generations.iter().any(|g| g.sequence_nr == sequence_nr) {
                return Err(c.value(number, "this sequence number is listed twice"));
            }
            let mut path = None;
            let mut c4 = None;
            for part in &child.children {
                let p = c.child(&part.name, None, part);
                match part.name.as_str() {
                    "path" => set_once(&p, &mut path, relative_path(&p, &leaf_text(&c, part)?)?)?,
                    "c4" => set_once(&p, &mut c4, parse_hash(&p, part, HashAlgorithm::C4)?)?,
                    _ => return Err(c.unexpected(part)),
                }
            }
            generations.push(ChainGeneration {
                sequence_nr,
                path: path.ok_or_else(|| c.missing("path"))?,
                c4: c4.ok_or_else(|| c.missing("c4"))?,
            });
        }
        Ok(MhlChain { generations })
    }

    /// Writes the chain file.
    pub fn to_xml(&self) -> String {
        let mut out = XmlOut::new();
        out.open("ascmhldirectory", &[("xmlns", Some(MHL_DIRECTORY_NAMESPACE.into()))]);
        for generation in &self.generations {
            out.open("hashlist", &[("sequencenr", Some(generation.sequence_nr.to_string()))]);
            out.leaf("path", &[], generation.path.as_str());
            hash_element(&mut out, &generation.c4);
            out.close("hashlist");
        }
        out.close("ascmhldirectory");
        out.finish()
    }

    /// The number the next generation gets.
    pub fn next_sequence_nr(&self) -> u32 {
        self.generations.iter().map(|g| g.sequence_nr).max().unwrap_or(0).saturating_add(1)
    }

    /// Records a new generation file (its exact bytes) under the next sequence number.
    pub fn append(&mut self, path: RelativePath, generation_bytes: &[u8]) -> &ChainGeneration {
        let sequence_nr = self.next_sequence_nr();
        let c4 = MhlHash::new(HashAlgorithm::C4, c4_id(generation_bytes));
        self.generations.push(ChainGeneration { sequence_nr, path, c4 });
        &self.generations[self.generations.len() - 1]
    }

    /// Checks the bytes of generation `sequence_nr` against the C4 id the chain recorded.
    pub fn verify_generation(&self, sequence_nr: u32, generation_bytes: &[u8]) -> Result<(), ChainError> {
        let entry = self
            .generations
            .iter()
            .find(|g| g.sequence_nr == sequence_nr)
            .ok_or(ChainError::UnknownGeneration(sequence_nr))?;
        let actual = c4_id(generation_bytes);
        if actual == entry.c4.value {
            Ok(())
        } else {
            Err(ChainError::Altered {
                sequence_nr,
                path: entry.path.as_str().to_owned(),
                expected: entry.c4.value.clone(),
                actual,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_numbers_and_verifies() {
        let mut chain = MhlChain::default();
        let first = chain.append(RelativePath::parse("0001_X_2026-01-01_000000Z.mhl").unwrap(), b"gen one").clone();
        assert_eq!(first.sequence_nr, 1);
        chain.append(RelativePath::parse("0002_X_2026-01-02_000000Z.mhl").unwrap(), b"gen two");
        assert_eq!(chain.next_sequence_nr(), 3);
        assert!(chain.verify_generation(1, b"gen one").is_ok());
        assert!(matches!(chain.verify_generation(2, b"gen 2"), Err(ChainError::Altered { sequence_nr: 2, .. })));
        assert_eq!(chain.verify_generation(9, b""), Err(ChainError::UnknownGeneration(9)));
        let reparsed = MhlChain::parse(chain.to_xml().as_bytes()).unwrap();
        assert_eq!(reparsed, chain);
    }

    #[test]
    fn refuses_malformed_chains() {
        let wrong_root = br#"<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0"/>"#;
        assert!(matches!(MhlChain::parse(wrong_root), Err(MhlError::Root { .. })));
        let dup = br#"<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0">
  <hashlist sequencenr="1"><path>a.mhl</path><c4>c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT</c4></hashlist>
  <hashlist sequencenr="1"><path>b.mhl</path><c4>c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT</c4></hashlist>
</ascmhldirectory>"#;
        let err = MhlChain::parse(dup).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
        let bad_c4 = br#"<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0">
  <hashlist sequencenr="1"><path>a.mhl</path><c4>c4nope</c4></hashlist>
</ascmhldirectory>"#;
        assert!(matches!(MhlChain::parse(bad_c4), Err(MhlError::Digest { .. })));
        let traversal = br#"<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0">
  <hashlist sequencenr="1"><path>../a.mhl</path><c4>c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT</c4></hashlist>
</ascmhldirectory>"#;
        assert!(matches!(MhlChain::parse(traversal), Err(MhlError::Path { .. })));
    }
}
