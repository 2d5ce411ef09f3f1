-- reasoning: short logic and common-sense puzzles with a single short answer.
-- Graded by `contains` on the extracted answer; puzzles whose answer is a number use
-- `numeric` too. The judge-free grading keeps the scenario cheap to run.
local ef = require("evalframe")

return {
  name = "reasoning",
  description = "Logic and common-sense puzzles with one short answer; contains grader.",
  ef.bind { ef.graders.contains },
  cases = {
    ef.case "bat_ball" {
      input = "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. "
        .. "How many cents does the ball cost?",
      expected = "5", tags = { "cognitive_reflection", "numeric" },
    },
    ef.case "widgets" {
      input = "If 5 machines take 5 minutes to make 5 widgets, how many minutes would 100 machines "
        .. "take to make 100 widgets?",
      expected = "5", tags = { "cognitive_reflection", "numeric" },
    },
    ef.case "syllogism" {
      input = "All bloops are razzies. All razzies are lazzies. Are all bloops lazzies? Answer yes or no.",
      expected = "yes", tags = { "logic" },
    },
    ef.case "sibling" {
      input = "Mary's father has five daughters: Nana, Nene, Nini, Nono. What is the name of the fifth daughter?",
      expected = "Mary", tags = { "trick" },
    },
    ef.case "order" {
      input = "Alice is taller than Bob. Bob is taller than Carol. Who is the shortest?",
      expected = "Carol", tags = { "logic" },
    },
    ef.case "weekday" {
      input = "If today is Wednesday, what day of the week will it be 10 days from now?",
      expected = "Saturday", tags = { "temporal" },
    },
    ef.case "lily_pad" {
      input = "A patch of lily pads doubles in size every day. It takes 48 days to cover the whole lake. "
        .. "On which day was the lake half covered?",
      expected = "47", tags = { "cognitive_reflection", "numeric" },
    },
  },
}
