-- math: arithmetic and word problems with a numeric answer.
-- Graded by `numeric`: the answer's number (the last one in it) must equal the expected
-- value within 1e-6.
local ef = require("evalframe")

return {
  name = "math",
  description = "Arithmetic and short word problems; numeric grader (the answer's last number).",
  ef.bind { ef.graders.numeric { tolerance = 1e-6 } },
  cases = {
    ef.case "add" { input = "What is 17 + 25?", expected = "42", tags = { "arithmetic" } },
    ef.case "multiply" { input = "What is 23 * 19?", expected = "437", tags = { "arithmetic" } },
    ef.case "divide" { input = "What is 144 / 12?", expected = "12", tags = { "arithmetic" } },
    ef.case "percent" {
      input = "What is 15% of 80?", expected = "12", tags = { "arithmetic", "percent" },
    },
    ef.case "apples" {
      input = "Sam has 3 boxes with 12 apples each. He gives away 7 apples. How many apples does he have left?",
      expected = "29", tags = { "word_problem" },
    },
    ef.case "train" {
      input = "A train travels at 60 km/h for 2.5 hours. How many kilometres does it cover?",
      expected = "150", tags = { "word_problem" },
    },
    ef.case "average" {
      input = "What is the average of 4, 8, 15, 16, 23 and 42?",
      expected = "18", tags = { "arithmetic" },
    },
    ef.case "squares" {
      input = "What is the sum of the squares of 3 and 4?", expected = "25", tags = { "arithmetic" },
    },
  },
}
