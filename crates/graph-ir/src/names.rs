//! Names that a user typed and the names that exist: the closest one, for
//! the "did you mean" of an error message.

/// The candidate within a small edit distance of `name` (a third of its
/// length, at least 1; the nearest wins, the first among equals), or one
/// that differs from it only in case.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let budget = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            let distance = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                edit_distance(name, c)
            };
            (distance, c)
        })
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars (names are short: the quadratic cost is
/// nothing next to a forward pass).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_closest_name_within_a_third_of_its_length() {
        let names = ["data", "label", "rpn_cls_prob_reshape"];
        assert_eq!(super::closest("dta", names), Some("data"));
        assert_eq!(super::closest("Data", names), Some("data"));
        assert_eq!(
            super::closest("rpn_cls_prob_reshap", names),
            Some("rpn_cls_prob_reshape")
        );
        assert_eq!(super::closest("image", names), None);
        assert_eq!(super::edit_distance("kitten", "sitting"), 3);
    }
}
