/*
 * app.js — progressive enhancement for the public site.
 * No build step; served as-is from STATIC_URL.
 */
(function () {
  "use strict";

  var CSRF_COOKIE_NAME = "csrftoken";

  function getCookie(name) {
    if (!document.cookie) {
      return null;
    }
    var parts = document.cookie.split(";");
    for (var i = 0; i < parts.length; i++) {
      var cookie = parts[i].trim();
      if (cookie.substring(0, name.length + 1) === name + "=") {
        return decodeURIComponent(cookie.substring(name.length + 1));
      }
    }
    return null;
  }

  function ready(fn) {
    if (document.readyState !== "loading") {
      fn();
    } else {
      document.addEventListener("DOMContentLoaded", fn);
    }
  }

  // Dismissible flash messages rendered from django.contrib.messages.
  function initMessages() {
    var items = document.querySelectorAll(".messages li[data-dismiss]");
    Array.prototype.forEach.call(items, function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "messages__close";
      button.setAttribute("aria-label", "Dismiss message");
      button.textContent = "\u00d7";
      button.addEventListener("click", function () {
        item.parentNode.removeChild(item);
      });
      item.appendChild(button);

      var timeout = parseInt(item.getAttribute("data-dismiss"), 10);
      if (timeout > 0) {
        window.setTimeout(function () {
          if (item.parentNode) {
            item.parentNode.removeChild(item);
          }
        }, timeout);
      }
    });
  }

  // Collapsible navigation on narrow screens.
  function initNav() {
    var toggle = document.querySelector("[data-nav-toggle]");
    var nav = document.getElementById("site-nav");
    if (!toggle || !nav) {
      return;
    }
    toggle.addEventListener("click", function () {
      var expanded = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!expanded));
      nav.hidden = expanded;
    });
  }

  // Submit forms marked with data-ajax via fetch and swap in the response.
  function initAjaxForms() {
    var forms = document.querySelectorAll("form[data-ajax]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var submit = form.querySelector("[type=submit]");
        if (submit) {
          submit.disabled = true;
        }
        fetch(form.action, {
          method: form.method || "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: {
            "X-CSRFToken": getCookie(CSRF_COOKIE_NAME) || "",
            "X-Requested-With": "XMLHttpRequest"
          }
        })
          .then(function (response) {
            if (!response.ok && response.status !== 400) {
              throw new Error("Request failed with status " + response.status);
            }
            return response.text();
          })
          .then(function (html) {
            var target = document.querySelector(form.getAttribute("data-ajax"));
            if (target) {
              target.innerHTML = html;
            }
          })
          .catch(function (err) {
            window.console && console.error(err);
            form.submit();
          })
          .finally(function () {
            if (submit) {
              submit.disabled = false;
            }
          });
      });
    });
  }

  // Lazy-load images uploaded to MEDIA_URL once they approach the viewport.
  function initLazyImages() {
    var images = document.querySelectorAll("img[data-src]");
    if (!images.length) {
      return;
    }
    if (!("IntersectionObserver" in window)) {
      Array.prototype.forEach.call(images, function (img) {
        img.src = img.getAttribute("data-src");
      });
      return;
    }
    var observer = new IntersectionObserver(
      function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            var img = entry.target;
            img.src = img.getAttribute("data-src");
            img.removeAttribute("data-src");
            observer.unobserve(img);
          }
        });
      },
      { rootMargin: "200px 0px" }
    );
    Array.prototype.forEach.call(images, function (img) {
      observer.observe(img);
    });
  }

  // Format <time datetime="..."> elements in the visitor's locale.
  function initLocalTimes() {
    var times = document.querySelectorAll("time[data-local]");
    if (!window.Intl || !Intl.DateTimeFormat) {
      return;
    }
    var formatter = new Intl.DateTimeFormat(undefined, {
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit"
    });
    Array.prototype.forEach.call(times, function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date.getTime())) {
        el.textContent = formatter.format(date);
      }
    });
  }

  ready(function () {
    initMessages();
    initNav();
    initAjaxForms();
    initLazyImages();
    initLocalTimes();
  });
})();
