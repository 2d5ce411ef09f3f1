-- factual: short factual questions with one well-known answer each.
-- Graded by `contains` (the reference, or one of its spellings, appears in the answer,
-- ignoring case) weighted over `exact_match` (the whole answer is the reference).
local ef = require("evalframe")

return {
  name = "factual",
  description = "Short factual questions (geography, science, history); contains + exact_match.",
  ef.bind { ef.graders.contains, weight = 0.7 },
  ef.bind { ef.graders.exact_match, weight = 0.3 },
  cases = {
    ef.case "largest_planet" {
      input = "Which planet in our solar system is the largest? Reply with just the name.",
      expected = "Jupiter", tags = { "science", "astronomy" },
    },
    ef.case "capital_japan" {
      input = "What is the capital city of Japan? Reply with just the name.",
      expected = "Tokyo", tags = { "geography" },
    },
    ef.case "water_formula" {
      input = "What is the chemical formula of water?",
      expected = "H2O", tags = { "science", "chemistry" },
    },
    ef.case "longest_river_africa" {
      input = "What is the longest river in Africa? Reply with just the name.",
      expected = { "Nile", "The Nile" }, tags = { "geography" },
    },
    ef.case "author_hamlet" {
      input = "Who wrote the play Hamlet? Reply with just the name.",
      expected = { "William Shakespeare", "Shakespeare" }, tags = { "literature" },
    },
    ef.case "moon_landing_year" {
      input = "In which year did humans first land on the Moon?",
      expected = "1969", tags = { "history" },
    },
    ef.case "red_planet" {
      input = "Which planet is known as the Red Planet? Reply with just the name.",
      expected = "Mars", tags = { "science", "astronomy" },
    },
    ef.case "smallest_prime" {
      input = "What is the smallest prime number?",
      expected = { "2", "two" }, tags = { "science", "math" },
    },
  },
}
