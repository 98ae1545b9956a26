//! RFC 6962 Merkle trees as Rekor keeps them: leaf and node hashes with
//! their domain-separation prefixes, and the inclusion proof check of
//! RFC 9162 §2.1.3.2.

use super::encoding::sha256;

pub(crate) fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(data.len() + 1);
    buf.push(0);
    buf.extend_from_slice(data);
    sha256(&buf)
}

pub(crate) fn node_hash(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(65);
    buf.push(1);
    buf.extend_from_slice(left);
    buf.extend_from_slice(right);
    sha256(&buf)
}

/// Checks that `leaf` sits at `index` of the tree of `size` leaves whose
/// root is `root`, by the audit path `proof` (lowest level first).
pub(crate) fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    proof: &[Vec<u8>],
    root: &[u8],
) -> Result<(), String> {
    if index >= size {
        return Err(format!("index {index} is outside a tree of {size} entries"));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in proof {
        if p.len() != 32 {
            return Err(format!("a proof hash has {} bytes, not 32", p.len()));
        }
        if s == 0 {
            return Err("the proof is longer than the path to the root".into());
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err("the proof is shorter than the path to the root".into());
    }
    if r != root {
        return Err(format!(
            "the audit path leads to root {}, not the proof's root {}",
            super::encoding::hex(&r),
            super::encoding::hex(root)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962's tree hash, computed the slow and obvious way.
    fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = leaves.len().next_power_of_two() / 2;
        node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
    }

    fn path(index: usize, leaves: &[[u8; 32]]) -> Vec<Vec<u8>> {
        if leaves.len() == 1 {
            return vec![];
        }
        let k = leaves.len().next_power_of_two() / 2;
        if index < k {
            let mut p = path(index, &leaves[..k]);
            p.push(root(&leaves[k..]).to_vec());
            p
        } else {
            let mut p = path(index - k, &leaves[k..]);
            p.push(root(&leaves[..k]).to_vec());
            p
        }
    }

    #[test]
    fn every_leaf_of_every_small_tree_is_proven_and_a_wrong_one_is_not() {
        for size in 1..=17usize {
            let leaves: Vec<[u8; 32]> = (0..size).map(|i| leaf_hash(&[i as u8])).collect();
            let r = root(&leaves);
            for i in 0..size {
                let p = path(i, &leaves);
                verify_inclusion(i as u64, size as u64, leaves[i], &p, &r).unwrap();
                let other = leaf_hash(b"not in the tree");
                assert!(verify_inclusion(i as u64, size as u64, other, &p, &r).is_err());
                if size > 1 {
                    let wrong = (i + 1) % size;
                    assert!(
                        verify_inclusion(wrong as u64, size as u64, leaves[i], &p, &r).is_err(),
                        "leaf {i} of {size} proven at {wrong}"
                    );
                }
            }
        }
    }
}
