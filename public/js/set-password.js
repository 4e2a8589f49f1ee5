// The set-password page (/set-password#secret=…): choosing a password
// from a one-time link (first administrator, invitation or reset).

import { api, start, state } from "./common.js";

function setPassword() {
  const form = document.getElementById("password-form");
  const error = document.getElementById("password-error");
  const secret = new URLSearchParams(location.hash.slice(1)).get("secret") || "";
  if (!secret) error.textContent = "This page needs the link you were given (it ends with #secret=…).";
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const a = document.getElementById("new-password").value;
    const b = document.getElementById("confirm-password").value;
    if (a.length < 10) { error.textContent = "Use at least 10 characters."; return; }
    if (a !== b) { error.textContent = "The two passwords differ."; return; }
    try {
      state.session = await api("POST", "set-password", { secret, password: a });
      history.replaceState(null, "", "/set-password");
      location.href = "/tokens";
    } catch (err) {
      error.textContent = err.message;
    }
  });
}

start(setPassword);
