//! Territories and named territory groups, resolved to a bitset over the 26×26 alpha-2 code space so that
//! membership, union, exclusion and subset tests are a few word operations.

use std::fmt;

use passerelle_media::Territory;

const WORDS: usize = 11; // 676 codes → 11 × 64 bits

/// A set of ISO 3166-1 alpha-2 territories.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TerritorySet([u64; WORDS]);

/// Every assigned ISO 3166-1 alpha-2 code, plus `XK` (Kosovo) which every Avails feed uses.
const ALL_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR \
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ \
FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE \
JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR \
MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU \
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK";

const fn code_index(a: u8, b: u8) -> Option<usize> {
    if a.is_ascii_uppercase() && b.is_ascii_uppercase() {
        Some((a - b'A') as usize * 26 + (b - b'A') as usize)
    } else {
        None
    }
}

/// Builds a set from space-separated upper-case codes at compile time.
const fn set_of(codes: &str) -> TerritorySet {
    let bytes = codes.as_bytes();
    let mut words = [0u64; WORDS];
    let mut i = 0;
    while i + 1 < bytes.len() {
        if let Some(ix) = code_index(bytes[i], bytes[i + 1]) {
            words[ix / 64] |= 1 << (ix % 64);
        }
        i += 3;
    }
    TerritorySet(words)
}

/// A named group of territories the trade uses in rights deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerritoryGroup {
    /// Canonical name as written in policies.
    pub name: &'static str,
    /// What the group is, for people.
    pub label: &'static str,
    pub members: TerritorySet,
}

const EU_CODES: &str = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE";

/// The groups Passerelle knows, matched case-insensitively. Membership is fixed here (not looked up at run
/// time) so that an agreement keeps meaning what it meant when it was signed.
pub const GROUPS: &[TerritoryGroup] = &[
    TerritoryGroup { name: "WORLD", label: "the world", members: set_of(ALL_CODES) },
    TerritoryGroup { name: "EU", label: "the European Union (27 member states)", members: set_of(EU_CODES) },
    TerritoryGroup {
        name: "EEA",
        label: "the European Economic Area (EU + IS, LI, NO)",
        members: set_of(concat!(
            "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE",
            " IS LI NO"
        )),
    },
    TerritoryGroup { name: "DACH", label: "Germany, Austria and Switzerland", members: set_of("DE AT CH") },
    TerritoryGroup { name: "Benelux", label: "Belgium, the Netherlands and Luxembourg", members: set_of("BE NL LU") },
    TerritoryGroup {
        name: "Nordics",
        label: "the Nordic countries (DK, FI, IS, NO, SE)",
        members: set_of("DK FI IS NO SE"),
    },
    TerritoryGroup { name: "Scandinavia", label: "Denmark, Norway and Sweden", members: set_of("DK NO SE") },
    TerritoryGroup { name: "Baltics", label: "Estonia, Latvia and Lithuania", members: set_of("EE LV LT") },
    TerritoryGroup { name: "ANZ", label: "Australia and New Zealand", members: set_of("AU NZ") },
    TerritoryGroup { name: "UK", label: "the United Kingdom (ISO code GB)", members: set_of("GB") },
];

impl TerritorySet {
    pub const EMPTY: TerritorySet = TerritorySet([0; WORDS]);

    /// Every territory Passerelle knows (the `WORLD` group).
    pub fn world() -> TerritorySet {
        GROUPS[0].members
    }

    fn index_of(code: &str) -> Option<usize> {
        match code.as_bytes() {
            [a, b] => code_index(*a, *b),
            _ => None,
        }
    }

    pub fn single(t: &Territory) -> TerritorySet {
        let mut s = TerritorySet::EMPTY;
        s.insert(t);
        s
    }

    pub fn insert(&mut self, t: &Territory) {
        if let Some(ix) = Self::index_of(t.as_str()) {
            self.0[ix / 64] |= 1 << (ix % 64);
        }
    }

    /// Membership test used on every evaluation: no allocation, no parsing beyond two bytes.
    #[inline]
    pub fn contains(&self, t: &Territory) -> bool {
        match Self::index_of(t.as_str()) {
            Some(ix) => self.0[ix / 64] & (1 << (ix % 64)) != 0,
            None => false,
        }
    }

    pub fn union(&self, other: &TerritorySet) -> TerritorySet {
        let mut out = *self;
        for (o, w) in out.0.iter_mut().zip(other.0) {
            *o |= w;
        }
        out
    }

    pub fn intersection(&self, other: &TerritorySet) -> TerritorySet {
        let mut out = *self;
        for (o, w) in out.0.iter_mut().zip(other.0) {
            *o &= w;
        }
        out
    }

    pub fn difference(&self, other: &TerritorySet) -> TerritorySet {
        let mut out = *self;
        for (o, w) in out.0.iter_mut().zip(other.0) {
            *o &= !w;
        }
        out
    }

    /// Every known territory not in this set.
    pub fn complement(&self) -> TerritorySet {
        TerritorySet::world().difference(self)
    }

    pub fn is_subset(&self, other: &TerritorySet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & !b == 0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Members as territories, in code order.
    pub fn territories(&self) -> Vec<Territory> {
        let mut out = Vec::with_capacity(self.len());
        for ix in 0..WORDS * 64 {
            if ix < 676 && self.0[ix / 64] & (1 << (ix % 64)) != 0 {
                let code = [b'A' + (ix / 26) as u8, b'A' + (ix % 26) as u8];
                // Only codes from ALL_CODES or parsed Territory values are ever inserted, so this parses.
                if let Ok(t) =
                    std::str::from_utf8(&code).map_err(|_| ()).and_then(|c| Territory::parse(c).map_err(|_| ()))
                {
                    out.push(t);
                }
            }
        }
        out
    }
}

impl fmt::Debug for TerritorySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<String> = self.territories().iter().map(|t| t.to_string()).collect();
        write!(f, "TerritorySet{{{}}}", codes.join(" "))
    }
}

/// A right operand of `spatial`: one territory or one named group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    Territory(Territory),
    Group(&'static TerritoryGroup),
}

impl Area {
    pub fn members(&self) -> TerritorySet {
        match self {
            Area::Territory(t) => TerritorySet::single(t),
            Area::Group(g) => g.members,
        }
    }
}

/// Resolves a written area: a group name (case-insensitive), else an ISO 3166-1 alpha-2 code. An IRI or blank
/// node id (`http://example.org/EU`, `_:EU`) is resolved by its last segment; its namespace is not interpreted.
pub fn resolve_area(written: &str) -> Option<Area> {
    let name = crate::term::last_segment(written.trim());
    if let Some(g) = GROUPS.iter().find(|g| g.name.eq_ignore_ascii_case(name)) {
        return Some(Area::Group(g));
    }
    Territory::parse(name).ok().map(Area::Territory)
}

/// Names a set the way people say it: a group name when it is exactly a group, else "group except X, Y" when it
/// is a group minus a few, else the list of codes.
pub fn render_set(set: &TerritorySet) -> String {
    if set.is_empty() {
        return "no territory".to_string();
    }
    for g in GROUPS {
        if *set == g.members {
            return g.name.to_string();
        }
    }
    let codes = |s: &TerritorySet| s.territories().iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
    for g in GROUPS {
        if set.is_subset(&g.members) {
            let missing = g.members.difference(set);
            if missing.len() * 4 < g.members.len() && missing.len() < set.len() {
                return format!("{} except {}", g.name, codes(&missing));
            }
        }
    }
    codes(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(c: &str) -> Territory {
        Territory::parse(c).unwrap()
    }

    #[test]
    fn world_is_exactly_what_the_media_crate_accepts() {
        let world = TerritorySet::world();
        let mut accepted = 0;
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap();
                if let Ok(tt) = Territory::parse(&code) {
                    accepted += 1;
                    assert!(world.contains(&tt), "{code} parses but is not in WORLD");
                }
            }
        }
        assert_eq!(accepted, 250);
        // and every member of WORLD converts back to a Territory
        assert_eq!(world.territories().len(), 250);
    }

    #[test]
    fn groups_have_the_right_sizes_and_members() {
        let g = |n: &str| GROUPS.iter().find(|g| g.name == n).unwrap().members;
        assert_eq!(g("EU").len(), 27);
        assert_eq!(g("EEA").len(), 30);
        assert!(g("EU").is_subset(&g("EEA")));
        assert!(g("DACH").contains(&t("CH")) && !g("EU").contains(&t("CH")));
        assert!(g("Benelux").is_subset(&g("EU")));
        assert!(g("Nordics").contains(&t("IS")) && !g("EU").contains(&t("NO")));
        assert!(g("EU").contains(&t("GR")), "Greece is GR in ISO 3166-1, not EL");
        assert!(!g("EU").contains(&t("GB")));
    }

    #[test]
    fn resolves_codes_groups_and_iris() {
        assert_eq!(resolve_area("FR"), Some(Area::Territory(t("FR"))));
        assert_eq!(resolve_area("fr"), Some(Area::Territory(t("FR"))));
        assert!(matches!(resolve_area("http://example.org/EU"), Some(Area::Group(g)) if g.name == "EU"));
        assert!(matches!(resolve_area("_:EU"), Some(Area::Group(g)) if g.name == "EU"));
        assert!(matches!(resolve_area("benelux"), Some(Area::Group(g)) if g.name == "Benelux"));
        assert_eq!(resolve_area("XX"), None);
        assert_eq!(resolve_area("http://example.org/Atlantis"), None);
        assert_eq!(resolve_area(""), None);
    }

    #[test]
    fn set_algebra() {
        let eu = GROUPS[1].members;
        let without_de = eu.difference(&TerritorySet::single(&t("DE")));
        assert_eq!(without_de.len(), 26);
        assert!(without_de.is_subset(&eu) && !eu.is_subset(&without_de));
        assert!(!without_de.contains(&t("DE")) && without_de.contains(&t("FR")));
        assert_eq!(eu.complement().len(), 250 - 27);
        assert!(eu.intersection(&eu.complement()).is_empty());
        assert_eq!(render_set(&eu), "EU");
        assert_eq!(render_set(&without_de), "EU except DE");
        assert_eq!(render_set(&TerritorySet::single(&t("FR")).union(&TerritorySet::single(&t("BE")))), "BE, FR");
    }
}
