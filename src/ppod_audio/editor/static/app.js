// ppod edit: the transcript under its speakers, the MP3 beside it. Plain JS, no build step.
// The document is edited in memory; Save sends it back whole, the server keeps the previous
// version and re-publishes. Until then every change is also kept in this browser (a draft), so
// closing the tab or a crash of the server loses nothing typed.
"use strict";

const token = window.PPOD_TOKEN;
const url = (path) => `${path}?token=${encodeURIComponent(token)}`;
const $ = (id) => document.getElementById(id);
const player = $("player");
const main = $("transcript");
const SKIP_SECONDS = 2;

let doc = null;
let revision = null;
let threshold = 0.6;
let shadingRule = null;       // the server's confidence rule (transcript/confidence.py)
let knownWords = new Set();   // the show's names and terms: never shaded as unsure
let dirty = false;
let saving = false;
let edited = new WeakSet();   // words the editor changed since the last save
let timeline = [];            // {start, end, el} for every timed word, in document order
let current = -1;             // index in timeline of the highlighted word
let renaming = -1;            // segment whose speaker the dialog is renaming
let changes = 0;              // edits so far: a save only adopts the server's copy if none came

// --- loading, drafts, status ------------------------------------------------------------------

const draftKey = () => `ppod-draft:${doc ? doc.episode.slug : ""}`;

async function load() {
  const response = await fetch(url("/api/document"));
  if (!response.ok) return status(`Could not load the transcript (${response.status})`, "error");
  const data = await response.json();
  doc = data.document;
  revision = data.revision;
  threshold = data.threshold;
  useShadingRule(data.shading);
  $("threshold").value = threshold;
  $("title").textContent = `${doc.episode.show}: ${doc.episode.title}`;
  document.title = `Edit · ${doc.episode.title}`;
  const draft = JSON.parse(localStorage.getItem(draftKey()) || "null");
  // A draft made on an older episode.json (someone saved in between) is offered, not dropped:
  // saving it replaces that newer version, which history/ keeps.
  const restore = draft && (draft.revision === revision || window.confirm(
    "This browser kept unsaved edits made before episode.json last changed on disk. "
    + "Restore them? (Saving them replaces the newer version; history/ keeps it.)"));
  if (restore) {
    doc = draft.document;
    changed("Restored unsaved edits kept in this browser");
  } else {
    if (draft) localStorage.removeItem(draftKey());
    status("Ready");
  }
  render();
}

function status(text, state = "") {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function changed(message = "Unsaved changes") {
  changes += 1;
  dirty = true;
  $("save").disabled = false;
  status(message, "dirty");
  localStorage.setItem(draftKey(), JSON.stringify({ revision, document: doc }));
}

// --- rendering --------------------------------------------------------------------------------

function speaker(id) {
  return doc.speakers.find((s) => s.id === id) || { id, name: id || "Unknown speaker", role: null };
}

function colour(id) {
  let hash = 0;
  for (const ch of String(id)) hash = (hash * 31 + ch.charCodeAt(0)) % 360;
  return `hsl(${hash}, 55%, 33%)`;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

function wordSpan(word, si, wi) {
  const span = document.createElement("span");
  span.className = "w";
  span.textContent = word.text;
  span.dataset.seg = si;
  span.dataset.i = wi;
  if (word.probability !== null && word.probability !== undefined) {
    span.title = `${Math.round(word.probability * 100)}% confident · ${word.start.toFixed(2)} s`;
    if (needsReview(doc.segments[si].words, wi)) span.classList.add("low");
  }
  if (edited.has(word)) span.classList.add("edited");
  markCorrection(span, word);
  return span;
}

function paragraph(segment, si) {
  const section = document.createElement("section");
  section.className = "para";
  section.dataset.seg = si;
  const who = document.createElement("div");
  who.className = "who";
  if (si > 0 && doc.segments[si - 1].speaker === segment.speaker) who.classList.add("same");
  const person = speaker(segment.speaker);
  const name = document.createElement("button");
  name.type = "button";
  name.className = "speaker";
  name.dataset.seg = si;
  name.textContent = person.name;
  name.title = "Rename this speaker";
  name.style.setProperty("--spk", colour(segment.speaker));
  who.append(name);
  if (person.role) {
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = person.role;
    who.append(role);
  }
  const time = document.createElement("time");
  time.textContent = clock(segment.start);
  time.dataset.start = segment.start;
  who.append(time);
  const text = document.createElement("p");
  text.className = "text";
  if (segment.words.length) {
    segment.words.forEach((word, wi) => {
      if (wi) text.append(" ");
      text.append(wordSpan(word, si, wi));
      // One undo per correction, after its last word (a correction written as several words
      // has its further words joined to the first).
      const next = segment.words[wi + 1];
      if (isRecorded(word) && !(next && next.joined)) text.append(undoButton(word, si, wi));
    });
  } else {
    text.classList.add("fixed");
    text.textContent = segment.text;
  }
  section.append(who, text);
  return section;
}

// The timeline is read back from the page, so re-rendering one paragraph keeps it right.
function indexWords() {
  if (current >= 0 && timeline[current]) timeline[current].el.classList.remove("now");
  timeline = Array.from(main.querySelectorAll(".w"), (el) => {
    const word = doc.segments[Number(el.dataset.seg)].words[Number(el.dataset.i)];
    return { start: word.start, end: word.end, el };
  });
  current = -1;
  highlight();
}

function render() {
  const fragment = document.createDocumentFragment();
  doc.segments.forEach((segment, si) => fragment.append(paragraph(segment, si)));
  main.replaceChildren(fragment);
  indexWords();
}

// A word edit changes one paragraph: rebuilding all of them took ~60 ms on a long episode.
function renderParagraph(si) {
  main.querySelector(`section.para[data-seg="${si}"]`).replaceWith(paragraph(doc.segments[si], si));
  indexWords();
}

// --- confidence shading and vocabulary corrections ---------------------------------------------
// The rule is transcript/confidence.py's needs_review, with the server's parameters: a word under
// the threshold, or under neighbour_threshold beside a word under neighbour_low, or under
// bridge_threshold between two words under the threshold, unless it is one of the show's names
// or terms; a word some runner-up hypothesis of the decode wrote otherwise (word.disputed > 0)
// is shaded too, and for words recording disputes the neighbour rule stops at
// disputed_neighbour_threshold; a word the pipeline heard a second time (word.heard_again set)
// is shaded instead when heard otherwise, or under heard_same_low. A correction the cleaning made (word.original: what was heard) is
// marked instead, with the heard word in its tooltip and a one-click undo beside it; one written
// as several words (all but the first "joined") is undone as one, the heard words put back once. A word the
// second hearing added (speech/redecode.py: a term's missing word, original "") is marked the
// same way, and its undo removes it.

function useShadingRule(rule) {
  shadingRule = rule || null;
  knownWords = new Set((rule && rule.known) || []);
}

const wordKey = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, "");

function probabilityOf(word) {
  return word && word.probability !== null && word.probability !== undefined
    ? word.probability : 1;
}

function needsReview(words, wi) {
  const word = words[wi];
  if (word.probability === null || word.probability === undefined || isRecorded(word)) return false;
  if (knownWords.has(wordKey(word.text))) return false;
  if (shadingRule && typeof word.heard_again === "boolean") {
    // heard a second time (speech/recheck.py): shaded when heard otherwise, or very unsure
    return word.probability < shadingRule.heard_same_low
      || (word.probability < shadingRule.hear_again_below && !word.heard_again);
  }
  // a word beam search's runner-ups disputed (speech/hypotheses.py): shaded, and the neighbour
  // rule reaches less far for words that record disputes
  const recordsDisputes = shadingRule && typeof word.disputed === "number";
  if (recordsDisputes && word.disputed > 0) return true;
  if (word.probability < threshold) return true;
  if (!shadingRule) return false;
  const before = probabilityOf(words[wi - 1]), after = probabilityOf(words[wi + 1]);
  const reach = recordsDisputes
    ? shadingRule.disputed_neighbour_threshold : shadingRule.neighbour_threshold;
  if (word.probability < reach && Math.min(before, after) < shadingRule.neighbour_low) return true;
  // between two unsure words (a word at either end of the paragraph has one neighbour only)
  return wi > 0 && wi + 1 < words.length && word.probability < shadingRule.bridge_threshold
    && Math.max(before, after) < threshold;
}

// A recorded correction: original is what was heard, or "" for a word added where none was.
const isRecorded = (word) => typeof word.original === "string";
const isAdded = (word) => word.original === "";

function markCorrection(span, word) {
  if (!isRecorded(word)) return;
  span.classList.add("corrected");
  span.title = isAdded(word)
    ? `Added on a second hearing (not heard at first) · ${word.start.toFixed(2)} s`
    : `Corrected from “${word.original}” (heard) · ${word.start.toFixed(2)} s`;
}

// The words of the correction word wi belongs to, [first, last]: a correction written as several
// words ("Beapod" -> "P Pod") records the heard phrase on each and marks all but the first joined.
function correctionGroup(words, wi) {
  let first = wi;
  while (first > 0 && words[first].joined
         && words[first - 1].original === words[first].original) first -= 1;
  let last = wi;
  while (last + 1 < words.length && words[last + 1].joined) last += 1;
  return [first, last];
}

function undoButton(word, si, wi) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "undo";
  button.dataset.seg = si;
  button.dataset.i = wi;
  button.textContent = "↶";
  if (isAdded(word)) {
    button.title = `Undo: remove “${word.text}” (added)`;
    button.setAttribute("aria-label", `Undo addition, remove ${word.text}`);
  } else {
    const [first, last] = correctionGroup(doc.segments[si].words, wi);
    const written = doc.segments[si].words.slice(first, last + 1).map((w) => w.text).join(" ");
    button.title = `Undo: put back “${word.original}” in place of “${written}”`;
    button.setAttribute("aria-label",
      `Undo correction, put back ${word.original} in place of ${written}`);
  }
  return button;
}

// The heard phrase as words again, sharing the correction's time in proportion to their length
// (as transcript/clean.py's spread shares it the other way): its start and end exactly, the times
// between rounded to the millisecond.
function heardWords(group, original) {
  const texts = original.split(/\s+/).filter(Boolean);
  const start = group[0].start, end = group[group.length - 1].end;
  const weights = texts.map((t) => t.length + 1);
  const total = weights.reduce((a, b) => a + b, 0);
  let position = start;
  return texts.map((text, k) => {
    const following = k + 1 === texts.length
      ? end : Math.round((position + (end - start) * weights[k] / total) * 1000) / 1000;
    const word = { ...group[0], text, start: position, end: following };
    delete word.original;
    delete word.joined;
    position = following;
    return word;
  });
}

function undoCorrection(si, wi) {
  const segment = doc.segments[si];
  const word = segment.words[wi];
  if (!word || !isRecorded(word)) return;
  if (isAdded(word)) {
    // Nothing was heard there: undoing the addition removes the word, as emptying it would.
    // The sentence's end it took from the word before ("a rapid." -> "a rapid review.") goes
    // back to that word.
    const ending = word.text.slice(word.text.replace(/[.,?!;:]+$/, "").length);
    const before = segment.words[wi - 1];
    if (ending && before && !/[.,?!;:]$/.test(before.text)) {
      before.text += ending;
      edited.add(before);
    }
    segment.words.splice(wi, 1);
  } else {
    // The whole correction goes, and what was heard comes back once, a word for each word heard.
    const [first, last] = correctionGroup(segment.words, wi);
    const group = segment.words.slice(first, last + 1);
    const heard = heardWords(group, word.original);
    segment.words.splice(first, group.length, ...heard);
    heard.forEach((w) => edited.add(w));
  }
  segment.text = segment.words.map((w) => w.text).join(" ");
  const emptied = !segment.words.length;
  if (emptied) doc.segments.splice(si, 1);
  changed(isAdded(word) ? "Added word removed (unsaved)" : "Correction undone (unsaved)");
  if (emptied) render(); // every later paragraph's index changes
  else renderParagraph(si);
}

main.addEventListener("click", (event) => {
  const button = event.target.closest("button.undo");
  if (!button) return;
  event.stopPropagation();
  undoCorrection(Number(button.dataset.seg), Number(button.dataset.i));
});

// --- playback and the word being heard ---------------------------------------------------------

function playFrom(seconds) {
  player.currentTime = Math.max(0, seconds);
  player.play().catch(() => {});
}

function wordAt(t) {
  let lo = 0;
  let hi = timeline.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (timeline[mid].start <= t + 1e-3) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function highlight() {
  const index = wordAt(player.currentTime);
  if (index === current) return;
  if (current >= 0 && timeline[current]) timeline[current].el.classList.remove("now");
  current = index;
  if (index < 0) return;
  const el = timeline[index].el;
  el.classList.add("now");
  if ($("follow").checked && !player.paused) {
    const box = el.getBoundingClientRect();
    const top = document.querySelector("header").getBoundingClientRect().bottom;
    if (box.top < top || box.bottom > window.innerHeight) el.scrollIntoView({ block: "center" });
  }
}

function tick() {
  highlight();
  if (!player.paused) requestAnimationFrame(tick);
}

player.addEventListener("play", () => requestAnimationFrame(tick));
player.addEventListener("seeked", highlight);
player.addEventListener("timeupdate", highlight);

// --- editing words ------------------------------------------------------------------------------

function editWord(span) {
  const segment = doc.segments[Number(span.dataset.seg)];
  const word = segment.words[Number(span.dataset.i)];
  const input = document.createElement("input");
  input.className = "word-edit";
  input.value = word.text;
  input.size = Math.max(3, word.text.length + 1);
  input.setAttribute("aria-label", "Correct this word (empty removes it)");
  let done = false;
  const finish = (keep, next) => {
    if (done) return;
    done = true;
    const text = input.value.trim().replace(/\s+/g, " ");
    const si = Number(span.dataset.seg);
    let removed = false;
    if (keep && text !== word.text) {
      if (text) {
        word.text = text;
        word.probability = null; // reviewed by a person: no longer shaded (as in the text route)
        edited.add(word);
      } else {
        segment.words.splice(Number(span.dataset.i), 1);
      }
      segment.text = segment.words.map((w) => w.text).join(" ");
      removed = !segment.words.length;
      if (removed) doc.segments.splice(si, 1);
      changed();
    }
    if (removed) render(); // every later paragraph's index (and label) changes
    else renderParagraph(si);
    if (next) {
      const following = main.querySelector(
        `.w[data-seg="${si}"][data-i="${Number(span.dataset.i) + (text || !keep ? 1 : 0)}"]`
      ) || main.querySelector(`.w[data-seg="${si + 1}"][data-i="0"]`);
      if (following) editWord(following);
    }
  };
  input.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault(); // the browser's own "Save page" otherwise
      finish(true, false);
      save();
    } else if (event.key === "Enter") finish(true, false);
    else if (event.key === "Escape") finish(false, false);
    else if (event.key === "Tab") {
      event.preventDefault();
      finish(true, !event.shiftKey);
    }
  });
  input.addEventListener("blur", () => finish(true, false));
  span.replaceWith(input);
  input.focus();
  input.select();
}

main.addEventListener("click", (event) => {
  const target = event.target;
  if (target.classList.contains("w")) {
    const word = doc.segments[Number(target.dataset.seg)].words[Number(target.dataset.i)];
    playFrom(word.start);
  } else if (target.classList.contains("speaker")) {
    openSpeakerDialog(Number(target.dataset.seg));
  } else if (target.tagName === "TIME") {
    playFrom(Number(target.dataset.start));
  }
});

main.addEventListener("dblclick", (event) => {
  if (event.target.classList.contains("w")) {
    player.pause();
    editWord(event.target);
  }
});

// --- speakers -----------------------------------------------------------------------------------

function openSpeakerDialog(si) {
  renaming = si;
  const person = speaker(doc.segments[si].speaker);
  $("speaker-name").value = person.name;
  $("speaker-role").value = person.role || "";
  $("speaker-names").replaceChildren(
    ...doc.speakers.map((s) => Object.assign(document.createElement("option"), { value: s.name }))
  );
  document.querySelector('input[name="scope"][value="paragraph"]').checked = true;
  $("speaker-dialog").showModal();
  $("speaker-name").select();
}

function newSpeakerId() {
  const taken = new Set(doc.speakers.map((s) => s.id));
  let n = 1;
  while (taken.has(`E${n}`)) n += 1;
  return `E${n}`;
}

function assign(segment, id) {
  segment.speaker = id;
  segment.words.forEach((w) => { w.speaker = id; });
}

function renameSpeaker(si, name, role, everywhere) {
  const segment = doc.segments[si];
  const old = segment.speaker;
  const existing = doc.speakers.find((s) => s.name.toLowerCase() === name.toLowerCase());
  if (everywhere) {
    if (existing && existing.id !== old) {
      doc.segments.forEach((s) => { if (s.speaker === old) assign(s, existing.id); });
      if (role) existing.role = role;
    } else {
      let person = doc.speakers.find((s) => s.id === old);
      if (!person) {
        person = { id: old || newSpeakerId(), name, role: null };
        doc.speakers.push(person);
        // Paragraphs nobody was attributed to (no diarizer) all become this person.
        doc.segments.forEach((s) => { if (s.speaker === old) assign(s, person.id); });
      }
      person.name = name;
      person.role = role || null;
    }
  } else if (existing) {
    if (role) existing.role = role;
    assign(segment, existing.id);
  } else {
    const id = newSpeakerId();
    doc.speakers.push({ id, name, role: role || null });
    assign(segment, id);
  }
  const used = new Set(doc.segments.map((s) => s.speaker));
  doc.speakers = doc.speakers.filter((s) => used.has(s.id));
  changed();
  render();
}

// A different name is a different person: their role, not the previous speaker's.
$("speaker-name").addEventListener("input", () => {
  const name = $("speaker-name").value.trim().toLowerCase();
  const known = doc.speakers.find((s) => s.name.toLowerCase() === name);
  $("speaker-role").value = known ? known.role || "" : "";
});

$("speaker-dialog").addEventListener("close", () => {
  const dialog = $("speaker-dialog");
  const name = $("speaker-name").value.trim().replace(/\s+/g, " ");
  if (dialog.returnValue === "ok" && name && renaming >= 0) {
    const everywhere = document.querySelector('input[name="scope"]:checked').value === "everywhere";
    renameSpeaker(renaming, name, $("speaker-role").value.trim(), everywhere);
  }
  renaming = -1;
});

// --- saving -------------------------------------------------------------------------------------

async function save() {
  if (saving || !dirty) return;
  saving = true;
  const before = changes;
  $("save").disabled = true;
  status("Saving…");
  try {
    const response = await fetch(url("/api/document"), {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ revision, document: doc }),
    });
    const data = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) {
      $("save").disabled = false;
      const why = response.status === 409
        ? "episode.json changed on disk since this page loaded; your edits are kept in this browser — reload, and restore them when asked"
        : data.error;
      status(`Not saved: ${why}`, "error");
      return;
    }
    revision = data.revision;
    const kept = data.backup ? ` · previous version kept as ${data.backup}` : "";
    if (changes !== before) {
      // Edited while the save was under way: those edits are not in what was saved, so keep
      // this page's document (now on the saved revision) and stay unsaved.
      changed(`Saved in ${data.seconds} s${kept}; newer edits not saved yet`);
      return;
    }
    doc = data.document;
    dirty = false;
    edited = new WeakSet();
    localStorage.removeItem(draftKey());
    status(`Saved and published in ${data.seconds} s${kept}`, "saved");
    render();
  } catch (error) {
    $("save").disabled = false;
    status(`Not saved: ${error.message} (is ppod edit still running?)`, "error");
  } finally {
    saving = false;
  }
}

$("save").addEventListener("click", save);

// --- settings and keys --------------------------------------------------------------------------

$("threshold").addEventListener("change", () => {
  const value = Number($("threshold").value);
  if (value >= 0 && value <= 1) {
    threshold = value;
    render();
  }
});

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
    event.preventDefault();
    save();
    return;
  }
  if ($("speaker-dialog").open || event.target.tagName === "INPUT") return;
  const keys = {
    Escape: () => (player.paused ? player.play().catch(() => {}) : player.pause()),
    F1: () => { player.currentTime = Math.max(0, player.currentTime - SKIP_SECONDS); },
    F2: () => { player.currentTime = player.currentTime + SKIP_SECONDS; },
    F3: () => { player.playbackRate = Math.max(0.5, player.playbackRate - 0.1); },
    F4: () => { player.playbackRate = Math.min(2, player.playbackRate + 0.1); },
  };
  if (keys[event.key]) {
    event.preventDefault();
    keys[event.key]();
  }
});

window.addEventListener("beforeunload", (event) => {
  if (dirty) event.preventDefault();
});

// --- edits that change the audio (redact, cut, undo) --------------------------------------------
// The selected words are sent by number (the count the server and `ppod redact --words` use:
// every word outside the content warning, in order); the server re-masters the MP3 from the
// recordings and answers with the new document, which replaces this page's.

function audioWordNumber(si, wi) {
  let n = 0;
  for (let s = 0; s < si; s += 1) {
    if (doc.segments[s].speaker !== "warning") n += doc.segments[s].words.length;
  }
  return n + wi;
}

function selectedWordRange() {
  const selection = window.getSelection();
  const spans = Array.from(main.querySelectorAll(".w")).filter(
    (el) => selection && !selection.isCollapsed && selection.containsNode(el, true)
  );
  if (!spans.length && current >= 0 && timeline[current]) spans.push(timeline[current].el);
  if (!spans.length) return null;
  const numbers = spans.map((el) => audioWordNumber(Number(el.dataset.seg), Number(el.dataset.i)));
  return { first: Math.min(...numbers), last: Math.max(...numbers), count: spans.length };
}

function updateAudioEditButtons() {
  const edits = (doc && doc.audio_edits) || [];
  $("undo-audio").disabled = !edits.some((e) => e.kind !== "tidy");
}

async function audioEdit(kind) {
  const range = kind === "undo" ? {} : selectedWordRange();
  if (!range) return status("Select the words to " + kind + " first", "error");
  if (dirty) {
    await save();
    if (dirty) return; // not saved: the reason is on the status line
  }
  player.pause();
  const words = `${range.count} word(s)`;
  const label = { redact: `Redacting ${words}`, cut: `Cutting ${words}`, undo: "Undoing the latest audio edit" }[kind];
  const done = { redact: `Redacted ${words}`, cut: `Cut ${words}`, undo: "Undid the latest audio edit" }[kind];
  status(`${label}: re-mastering from the recordings…`, "dirty");
  document.body.classList.add("busy");
  try {
    const response = await fetch(url("/api/audio-edit"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ revision, kind, first: range.first, last: range.last }),
    });
    const data = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) return status(`Not done: ${data.error}`, "error");
    doc = data.document;
    revision = data.revision;
    window.getSelection().removeAllRanges();
    player.src = `${url("/audio")}&v=${Date.now()}`; // the re-mastered MP3
    render();
    updateAudioEditButtons();
    status(`${done}: re-published in ${data.seconds} s`, "saved");
  } catch (error) {
    status(`Not done: ${error.message} (is ppod edit still running?)`, "error");
  } finally {
    document.body.classList.remove("busy");
  }
}

$("redact").addEventListener("click", () => audioEdit("redact"));
$("cut").addEventListener("click", () => audioEdit("cut"));
$("undo-audio").addEventListener("click", () => audioEdit("undo"));

load().then(updateAudioEditButtons);
