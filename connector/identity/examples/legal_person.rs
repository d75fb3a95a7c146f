//! Prints the `gx:LegalPerson` credential subject Passerelle issues, as a standalone
//! JSON-LD document, for SHACL validation against the Gaia-X Loire shapes:
//!
//! ```text
//! cargo run -p passerelle-identity --example legal-person > legal-person.jsonld
//! python3 connector/identity/tests/shacl/check.py legal-person.jsonld
//! ```

use passerelle_identity::did::Did;
use passerelle_identity::vc::gaiax::{Address, LegalPerson, RegistrationKind, RegistrationNumber};
use passerelle_media::Territory;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let did = Did::parse("did:web:distributor.example.com")?;
    let france = Territory::parse("FR")?;
    let mut address = Address::new(france.clone());
    address.street_address = Some("12 rue des Archives".into());
    address.postal_code = Some("75004".into());
    address.locality = Some("Paris".into());
    let person = LegalPerson {
        registration_number: RegistrationNumber::new(&did, RegistrationKind::VatId, "FR40303265045", Some(france))?,
        id: did,
        name: "Films du Marais SAS".into(),
        description: Some("Film and series distributor".into()),
        legal_address: address.clone(),
        headquarters_address: address,
    };
    println!("{}", serde_json::to_string_pretty(&person.to_jsonld())?);
    Ok(())
}
