// Admin core helpers (abbreviated example, not the upstream Django file).
"use strict";

function quickElement(tagName, parent, textContent, attrs) {
    const el = document.createElement(tagName);
    if (textContent) {
        el.appendChild(document.createTextNode(textContent));
    }
    for (const [key, value] of Object.entries(attrs || {})) {
        el.setAttribute(key, value);
    }
    parent.appendChild(el);
    return el;
}

function removeChildren(node) {
    while (node.firstChild) {
        node.removeChild(node.firstChild);
    }
}

function findPosX(obj) {
    let left = 0;
    for (; obj; obj = obj.offsetParent) {
        left += obj.offsetLeft - obj.scrollLeft;
    }
    return left;
}

function findPosY(obj) {
    let top = 0;
    for (; obj; obj = obj.offsetParent) {
        top += obj.offsetTop - obj.scrollTop;
    }
    return top;
}

function pad2(n) {
    return (n < 10 ? "0" : "") + n;
}

function formatIsoDate(date) {
    return date.getFullYear() + "-" + pad2(date.getMonth() + 1) + "-" + pad2(date.getDate());
}
