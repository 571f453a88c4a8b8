// Served from the edge with a hashed name: cached for a year, immutable.
document.addEventListener("DOMContentLoaded", () => {
  const count = document.querySelectorAll("main li a").length;
  document.title = `cachefront example (${count} uploads)`;
});
