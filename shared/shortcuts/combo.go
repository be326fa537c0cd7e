package shortcuts

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// defaults is the static KeyboardShortcutMap: every command the desktop
// offers and its combination when the operator overrides nothing. An
// override may only name a command listed here.
var defaults = map[string]string{
	"command_palette.open":    "Ctrl+K",
	"search.open":             "Ctrl+Shift+F",
	"shortcuts.help":          "Ctrl+/",
	"view.refresh":            "F5",
	"dashboard.open":          "Ctrl+1",
	"today.open":              "Ctrl+2",
	"arrivals.open":           "Ctrl+3",
	"departures.open":         "Ctrl+4",
	"in_house.open":           "Ctrl+5",
	"housekeeping_board.open": "Ctrl+6",
	"maintenance_board.open":  "Ctrl+7",
	"ai_inbox.open":           "Ctrl+Shift+A",
	"alerts.open":             "Ctrl+Shift+L",
	"alert.acknowledge":       "Ctrl+Shift+E",
	"activity.open":           "Ctrl+Shift+Y",
	"reservation.check_in":    "Ctrl+Shift+I",
	"reservation.check_out":   "Ctrl+Shift+O",
	"door_key.issue":          "Ctrl+Shift+K",
	"folio.open":              "Ctrl+Shift+B",
	"sync.now":                "Ctrl+Shift+S",
	"session.sign_out":        "Ctrl+Shift+Q",
}

// Defaults returns a copy of the static default map.
func Defaults() map[string]string {
	m := make(map[string]string, len(defaults))
	for k, v := range defaults {
		m[k] = v
	}
	return m
}

// Modifiers in their canonical order: a combination is spelled with its
// modifiers in this order, so "Shift+Ctrl+K" and "Ctrl+Shift+K" are one
// combination (and conflict as one).
var modifiers = []string{"Ctrl", "Alt", "Shift", "Meta"}

// namedKeys are the keys spelled as words, canonical case.
var namedKeys = []string{
	"Enter", "Escape", "Tab", "Space", "Backspace", "Delete", "Insert", "Home", "End",
	"PageUp", "PageDown", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
}

const punctuation = "/,.;'[]\\-=`"

// maxCombo bounds a combination's text ("Ctrl+Alt+Shift+Meta+Backspace"
// is 29).
const maxCombo = 32

// Canonical parses a combination — modifiers and a key joined by "+"
// (`Ctrl+Shift+K`; modifiers Ctrl, Alt, Shift, Meta, any case, each at
// most once) — and returns its canonical spelling. Only a function key
// (F1–F24) may go without a modifier: a bare letter would fire while the
// operator types.
func Canonical(s string) (string, error) {
	if s == "" || len(s) > maxCombo {
		return "", fmt.Errorf("must be modifiers and a key joined by +, such as Ctrl+Shift+K (at most %d characters)", maxCombo)
	}
	parts := strings.Split(s, "+")
	key, mods := parts[len(parts)-1], parts[:len(parts)-1]
	seen := make([]bool, len(modifiers))
	for _, m := range mods {
		i := slices.IndexFunc(modifiers, func(c string) bool { return strings.EqualFold(c, m) })
		if i < 0 {
			return "", fmt.Errorf("%q is not a modifier (Ctrl, Alt, Shift, Meta)", m)
		}
		if seen[i] {
			return "", fmt.Errorf("modifier %s appears twice", modifiers[i])
		}
		seen[i] = true
	}
	k, fkey, ok := canonicalKey(key)
	if !ok {
		return "", fmt.Errorf("%q is not a key (A–Z, 0–9, F1–F24, %s or one of %s)", key, strings.Join(namedKeys, ", "), punctuation)
	}
	if len(mods) == 0 && !fkey {
		return "", fmt.Errorf("%s needs a modifier (only F1–F24 may stand alone)", k)
	}
	var b strings.Builder
	for i, m := range modifiers {
		if seen[i] {
			b.WriteString(m)
			b.WriteByte('+')
		}
	}
	b.WriteString(k)
	return b.String(), nil
}

// canonicalKey returns key's canonical spelling and whether it is a
// function key.
func canonicalKey(key string) (string, bool, bool) {
	switch {
	case len(key) == 1 && (key[0] >= 'a' && key[0] <= 'z' || key[0] >= 'A' && key[0] <= 'Z'):
		return strings.ToUpper(key), false, true
	case len(key) == 1 && key[0] >= '0' && key[0] <= '9':
		return key, false, true
	case len(key) == 1 && strings.Contains(punctuation, key):
		return key, false, true
	case len(key) >= 2 && len(key) <= 3 && (key[0] == 'F' || key[0] == 'f'):
		n := 0
		for _, c := range key[1:] {
			if c < '0' || c > '9' {
				return "", false, false
			}
			n = n*10 + int(c-'0')
		}
		if n < 1 || n > 24 || key[1] == '0' {
			return "", false, false
		}
		return "F" + key[1:], true, true
	}
	for _, n := range namedKeys {
		if strings.EqualFold(n, key) {
			return n, false, true
		}
	}
	return "", false, false
}

// merge lays layers (global overrides, then a property's) over the
// defaults. A layer's combination wins over the same combination bound
// by a layer below: the command below is left unbound (""), so the
// effective map never binds one combination twice even when a global
// change made after a property's overrides collides with them. Stored
// overrides that name no known command or no valid combination are
// ignored (the write path never stores them).
func merge(layers ...map[string]string) map[string]string {
	eff := Defaults()
	for _, l := range layers {
		taken := map[string]string{}
		for _, cmd := range sortedKeys(l) {
			if _, known := defaults[cmd]; !known {
				continue
			}
			combo := l[cmd]
			if combo != "" {
				c, err := Canonical(combo)
				if err != nil {
					continue
				}
				if _, dup := taken[c]; dup {
					continue
				}
				combo = c
				taken[c] = cmd
			}
			eff[cmd] = combo
		}
		for cmd, combo := range eff {
			if owner, ok := taken[combo]; ok && owner != cmd {
				eff[cmd] = ""
			}
		}
	}
	return eff
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
