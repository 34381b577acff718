"""The pages' words and formats come from ponte.i18n (gettext catalogs read with Babel); the names pages import."""

from ponte.i18n import DEFAULT_LOCALE, LANGUAGE_NAMES, LOCALES, Translator, catalog, negotiate, pick_locale

__all__ = ["DEFAULT_LOCALE", "LANGUAGE_NAMES", "LOCALES", "Translator", "catalog", "negotiate", "pick_locale"]
