package demo

import (
	"math/rand/v2"
	"strings"
)

// namePool is the first and last names of one guest population.
type namePool struct{ first, last []string }

var (
	englishCanadian = namePool{
		first: []string{"Olivia", "Liam", "Emma", "Noah", "Charlotte", "Ethan", "Ava", "Lucas", "Amelia", "Benjamin",
			"Harper", "Jack", "Chloe", "Owen", "Maya", "Caleb", "Zoe", "Ryan", "Hannah", "Nathan", "Aisha", "Raj",
			"Mei", "Kenji", "Fatima", "Connor", "Grace", "Declan", "Nadia", "Isaac"},
		last: []string{"MacDonald", "Campbell", "Smith", "Nguyen", "Patel", "Wong", "Fraser", "O'Brien", "Murphy",
			"Chen", "Singh", "MacLeod", "Sinclair", "Boudreau", "LeBlanc", "Thompson", "Kowalski", "Okonkwo",
			"Mahmoud", "Robichaud", "Doucette", "MacNeil", "Brennan", "Ahmed", "Cormier", "Gillis"},
	}
	frenchCanadian = namePool{
		first: []string{"Léa", "Gabriel", "Florence", "Félix", "Rosalie", "Samuel", "Béatrice", "Thomas", "Juliette",
			"Olivier", "Camille", "Antoine", "Élise", "Mathis", "Chloé", "Émile", "Alice", "Louis", "Maëlle", "Xavier"},
		last: []string{"Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin",
			"Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Girard", "Simard", "Paquette"},
	}
	portuguese = namePool{
		first: []string{"Maria", "João", "Ana", "Francisco", "Beatriz", "Tomás", "Inês", "Rodrigo", "Leonor", "Martim",
			"Matilde", "Duarte", "Carolina", "Afonso", "Mariana", "Gonçalo", "Sofia", "Diogo"},
		last: []string{"Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins", "Sousa",
			"Fernandes", "Gonçalves", "Gomes", "Lopes", "Marques", "Ribeiro", "Pinto", "Carvalho", "Teixeira"},
	}
	// Travellers keep first and last names of one country together.
	travellers = []namePool{
		{first: []string{"James", "Emily", "Oliver", "Sophie", "Michael", "Sarah"}, last: []string{"Johnson", "Williams", "Brown", "Taylor", "O'Connor", "Walsh"}},
		{first: []string{"Hans", "Greta", "Lukas", "Lena", "Felix"}, last: []string{"Müller", "Schmidt", "Fischer", "Weber", "Becker"}},
		{first: []string{"Pierre", "Margaux", "Hugo", "Manon", "Julien"}, last: []string{"Dubois", "Lefèvre", "Moreau", "Laurent", "Girard"}},
		{first: []string{"Luca", "Giulia", "Marco", "Chiara", "Matteo"}, last: []string{"Rossi", "Bianchi", "Romano", "Ricci", "Conti"}},
		{first: []string{"Yuki", "Haruto", "Sakura", "Ren"}, last: []string{"Tanaka", "Sato", "Suzuki", "Watanabe"}},
		{first: []string{"Carlos", "Lucía", "Mateo", "Carmen", "Javier"}, last: []string{"García", "Martínez", "López", "Sánchez", "Romero"}},
		{first: []string{"Lars", "Astrid", "Erik", "Ingrid"}, last: []string{"Andersson", "Nielsen", "Johansson", "Larsen"}},
		{first: []string{"Min-jun", "Seo-yeon", "Ji-ho"}, last: []string{"Kim", "Park", "Lee", "Choi"}},
		{first: []string{"Priya", "Arjun", "Ananya", "Rohan"}, last: []string{"Sharma", "Iyer", "Reddy", "Mehta"}},
		{first: []string{"Kofi", "Ama", "Kwesi"}, last: []string{"Mensah", "Owusu", "Boateng"}},
	}
)

// nameMix is who stays at a property: pools with weights out of 100.
type nameMix []struct {
	pools  []namePool // one is drawn, then both names from it
	weight int
}

// mixFor guesses a property's guests from where it is. The dataset has no
// locale per property; the demo hotels are Halifax, Montréal and Lisbon.
func mixFor(p *Property) nameMix {
	name := strings.ToLower(p.Name)
	switch {
	case strings.Contains(name, "montréal"), strings.Contains(name, "montreal"), strings.Contains(name, "québec"):
		return nameMix{{[]namePool{frenchCanadian}, 55}, {[]namePool{englishCanadian}, 25}, {travellers, 20}}
	case strings.HasPrefix(p.Timezone, "Europe/Lisbon"):
		return nameMix{{[]namePool{portuguese}, 40}, {travellers, 60}}
	case p.Currency() == "CAD":
		return nameMix{{[]namePool{englishCanadian}, 75}, {[]namePool{frenchCanadian}, 10}, {travellers, 15}}
	default:
		return nameMix{{travellers, 100}}
	}
}

func (m nameMix) pool(r *rand.Rand) namePool {
	n := r.IntN(100)
	for _, e := range m {
		if n < e.weight {
			return pick(r, e.pools)
		}
		n -= e.weight
	}
	return pick(r, m[len(m)-1].pools)
}

// person is a full name drawn from the mix.
func (m nameMix) person(r *rand.Rand) string {
	p := m.pool(r)
	return pick(r, p.first) + " " + pick(r, p.last)
}

var stayNotes = []string{
	"Late arrival, guaranteed to credit card",
	"Feather allergy: hypoallergenic pillows",
	"Anniversary: champagne on arrival",
	"Requests a high floor, away from the elevator",
	"Early check-in requested",
	"Travelling with a small dog (pet fee applies)",
	"Needs a crib in the room",
	"Corporate rate: invoice to company",
	"Gluten-free breakfast",
	"Returning guest: prefers a quiet room",
	"Parking for one car, plate on file",
}
