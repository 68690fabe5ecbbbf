// "Check yourself": the build writes each question as plain HTML (hooks/quiz.py) that reads
// without JavaScript. This script makes it answer back, after every page load and instant
// navigation. Options are buttons, so mouse, touch and keyboard (Tab, Enter, Space) all work.

function setUpChoice(quiz) {
  for (const option of quiz.querySelectorAll(".quiz-option")) {
    option.addEventListener("click", () => {
      const right = option.dataset.correct === "true";
      option.setAttribute("aria-pressed", "true");
      option.classList.add(right ? "quiz-right" : "quiz-wrong");
      document.getElementById(option.getAttribute("aria-describedby")).hidden = false;
    });
  }
}

function setUpMatching(quiz) {
  const feedback = quiz.querySelector(".quiz-feedback");
  const terms = [...quiz.querySelectorAll(".quiz-term")];
  let picked = null;

  const pick = (term) => {
    for (const other of terms) other.setAttribute("aria-pressed", "false");
    picked = term;
    term.setAttribute("aria-pressed", "true");
    feedback.textContent = `Now pick the definition of "${term.textContent}".`;
  };

  const pair = (term, definition) => {
    definition.classList.remove("quiz-wrong");
    if (term.dataset.pair !== definition.dataset.pair) {
      definition.classList.add("quiz-wrong");
      feedback.textContent = `Not a match: "${term.textContent}" does not mean that. Try another.`;
      return;
    }
    for (const element of [term, definition]) {
      element.classList.add("quiz-right");
      element.disabled = true;
      element.setAttribute("aria-pressed", "false");
    }
    picked = null;
    const left = terms.filter((other) => !other.disabled).length;
    feedback.textContent = left
      ? `Right: "${term.textContent}" matched. ${left} to go.`
      : "Right: all matched.";
  };

  for (const term of terms) {
    term.addEventListener("click", () => pick(term));
    term.addEventListener("dragstart", (event) => {
      pick(term);
      event.dataTransfer.setData("text/plain", term.dataset.pair);
    });
  }
  for (const definition of quiz.querySelectorAll(".quiz-definition")) {
    definition.addEventListener("click", () => {
      if (picked) pair(picked, definition);
      else feedback.textContent = "Pick a term first.";
    });
    definition.addEventListener("dragover", (event) => event.preventDefault());
    definition.addEventListener("drop", (event) => {
      event.preventDefault();
      const term = terms.find((t) => t.dataset.pair === event.dataTransfer.getData("text/plain"));
      if (term) pair(term, definition);
    });
  }
}

document$.subscribe(() => {
  for (const quiz of document.querySelectorAll("[data-quiz]:not([data-ready])")) {
    quiz.dataset.ready = "true";
    if (quiz.querySelector(".quiz-option")) setUpChoice(quiz);
    else setUpMatching(quiz);
  }
});
