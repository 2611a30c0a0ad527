"""Spanish catalog source: ``python service/locale/es_translations.py`` writes
es/LC_MESSAGES/messages.po from messages.pot and these translations, then compile with
``pybabel compile -d service/locale``. Kept as data so a missing translation fails the test."""

ES = {
    "%(from)s to %(to)s": "del %(from)s al %(to)s",
    "%(m)s skills mastered, %(r)s ready to learn, %(n)s coming later.":
        "%(m)s habilidades dominadas, %(r)s listas para aprender, %(n)s más adelante.",
    ("%(n)s day ago", "%(n)s days ago"): ("hace %(n)s día", "hace %(n)s días"),
    ("%(n)s minute", "%(n)s minutes"): ("%(n)s minuto", "%(n)s minutos"),
    ("%(n)s month ago", "%(n)s months ago"): ("hace %(n)s mes", "hace %(n)s meses"),
    ("%(n)s week ago", "%(n)s weeks ago"): ("hace %(n)s semana", "hace %(n)s semanas"),
    ("%(n)s year ago", "%(n)s years ago"): ("hace %(n)s año", "hace %(n)s años"),
    ("%(n)s activity", "%(n)s activities"): ("%(n)s actividad", "%(n)s actividades"),
    ("practised %(n)s time", "practised %(n)s times"): ("practicó %(n)s vez", "practicó %(n)s veces"),
    "%(name)s has not set a goal yet.": "%(name)s todavía no tiene una meta.",
    "%(name)s's goals": "Metas de %(name)s",
    "%(name)s's week": "La semana de %(name)s",
    "%(skill)s: from %(a)s to %(b)s": "%(skill)s: de %(a)s a %(b)s",
    "A comment (optional)": "Un comentario (opcional)",
    "A little": "Un poco",
    "About me": "Sobre mí",
    "About the learner": "Sobre el estudiante",
    "Accommodations": "Adaptaciones",
    "Acknowledgements": "Confirmaciones de lectura",
    "Across grade %(grade)s: %(m)s skills mastered, %(r)s ready to learn next.":
        "En el grado %(grade)s: %(m)s habilidades dominadas, %(r)s listas para aprender.",
    "Add a note for the teacher and the learning plan": "Agregue una nota para el maestro y el plan de aprendizaje",
    "Add note": "Agregar nota",
    "Anything to add? (optional)": "¿Algo más que contar? (opcional)",
    "Areas of growth": "Áreas de crecimiento",
    "Aspirations": "Aspiraciones",
    "Choose": "Elegir",
    "Choose how you want to do it": "Elige cómo quieres hacerlo",
    "Date": "Fecha",
    "Download the PDF": "Descargar el PDF",
    "Family notes": "Notas de la familia",
    "From my family": "De mi familia",
    "From the teacher": "Del maestro",
    "Go back": "Volver",
    "Goals": "Metas",
    "Grade %(grade)s: %(m)s skills I've got, %(r)s ready to learn, %(n)s coming later.":
        "Grado %(grade)s: %(m)s habilidades que ya sé, %(r)s listas para aprender, %(n)s más adelante.",
    "Guardian": "Familia",
    "Hi %(name)s!": "¡Hola, %(name)s!",
    "How I learn best": "Cómo aprendo mejor",
    "How I learn best (one per line)": "Cómo aprendo mejor (una por línea)",
    "How did it go?": "¿Cómo te fue?",
    "How did “%(title)s” go?": "¿Cómo te fue con «%(title)s»?",
    "How it went, in the learner's words": "Cómo le fue, en sus propias palabras",
    "I have read this plan": "He leído este plan",
    "I've got it": "Ya lo sé",
    "Interests": "Intereses",
    "Learning plan": "Plan de aprendizaje",
    "Likes to learn": "Le gusta aprender",
    "Main": "Principal",
    "Mostly": "Casi todo",
    "My children": "Mis hijos",
    "My classes": "Mis clases",
    "My day": "Mi día",
    "My goals": "Mis metas",
    "My goals (one per line)": "Mis metas (una por línea)",
    "My growth": "Mi progreso en el tiempo",
    "My interests": "Mis intereses",
    "My interests (separated by commas)": "Mis intereses (separados por comas)",
    "My plan": "Mi plan",
    "My progress map": "Mi mapa de progreso",
    "My strengths": "Mis fortalezas",
    "Name": "Nombre",
    "Now": "Ahora",
    "No child is linked to your account yet. Please ask the school.":
        "Todavía no hay ningún estudiante vinculado a su cuenta. Por favor, pregunte en la escuela.",
    "No goal set yet.": "Todavía no hay metas.",
    "No notes from the teacher yet.": "Todavía no hay notas del maestro.",
    "No schoolwork recorded this week.": "No hay trabajo escolar registrado esta semana.",
    "None.": "Ninguna.",
    "Not yet": "Todavía no",
    "Pathwise": "Pathwise",
    "Personalized Learning Plan": "Plan de Aprendizaje Personalizado",
    "Print or acknowledge": "Imprimir o confirmar",
    "Progress": "Progreso",
    "Ready to learn: %(skills)s.": "Listo para aprender: %(skills)s.",
    "Save": "Guardar",
    "Saved.": "Guardado.",
    "Send": "Enviar",
    "Set or edit my goals": "Escribir o cambiar mis metas",
    "Sign out": "Cerrar sesión",
    "Skill goal: %(s)s": "Meta de habilidad: %(s)s",
    "Skill: %(skill)s": "Habilidad: %(skill)s",
    "Skip to content": "Ir al contenido",
    "Something went wrong": "Algo salió mal",
    "Strengths": "Fortalezas",
    "Student": "Estudiante",
    "Teacher": "Maestro",
    "Thank you: your acknowledgement is saved.": "Gracias: su confirmación está guardada.",
    "Thanks! Your teacher will see how it went.": "¡Gracias! Tu maestro verá cómo te fue.",
    "That did not work": "Eso no funcionó",
    "The path for the next weeks": "El camino de las próximas semanas",
    "Time at home": "Tiempo en casa",
    "Today": "Hoy",
    "What %(name)s worked on": "En qué trabajó %(name)s",
    "What I am working on": "En qué estoy trabajando",
    "What I want to be": "Lo que quiero ser",
    "What helps me": "Lo que me ayuda",
    "What's next": "Lo que sigue",
    "When can %(name)s work at home? (one per line)": "¿Cuándo puede %(name)s trabajar en casa? (uno por línea)",
    "Who": "Quién",
    "Working on": "Trabajando en",
    "You chose this one.": "Elegiste esta.",
    "You have not set a goal yet.": "Todavía no tienes una meta.",
    "You said: %(r)s": "Dijiste: %(r)s",
    "Your choice is saved.": "Tu elección está guardada.",
    "Your growth shows here once you have worked on a skill.":
        "Tu progreso aparecerá aquí cuando hayas trabajado en una habilidad.",
    "Your note is saved. The teacher will see it.": "Su nota está guardada. El maestro la verá.",
    "Your teacher has not planned your day yet. Check again soon.":
        "Tu maestro todavía no ha planeado tu día. Vuelve a mirar pronto.",
    "a goal": "una meta",
    "a quiet place to work": "un lugar tranquilo para trabajar",
    "about %(n)s in 5": "más o menos %(n)s de 5",
    "almost certainly": "casi seguro",
    "another way": "de otra manera",
    "as a discussion": "conversando",
    "as a game": "como un juego",
    "as a lesson": "como una lección",
    "as a project": "como un proyecto",
    "as a reading": "leyendo",
    "as a video": "con un video",
    "as practice": "practicando",
    "at home": "en casa",
    "at school": "en la escuela",
    "coming later": "más adelante",
    "extra time": "tiempo adicional",
    "from %(a)s to %(b)s": "de %(a)s a %(b)s",
    "grade %(g)s": "grado %(g)s",
    "grew from %(a)s to %(b)s": "creció de %(a)s a %(b)s",
    "hands-on": "con materiales",
    "in a small group": "en un grupo pequeño",
    "in the classroom": "en el salón",
    "in the community": "en la comunidad",
    "in the computer lab": "en el laboratorio de computación",
    "in today's plan": "en el plan de hoy",
    "large print": "letra grande",
    "learned from your choices": "aprendido de tus elecciones",
    "less screen time": "menos tiempo de pantalla",
    "materials in their language": "materiales en su idioma",
    "movement breaks": "pausas para moverse",
    "never": "nunca",
    "not yet": "todavía no",
    "now has it": "ya lo domina",
    "offline, on your own": "sin computadora, por tu cuenta",
    "on a worksheet": "con una hoja de trabajo",
    "on your own": "por tu cuenta",
    "online": "en línea",
    "pictures and visual supports": "imágenes y apoyos visuales",
    "planned for you": "planeada para ti",
    "practised %(when)s": "practicado %(when)s",
    "ready to learn": "listo para aprender",
    "same skill, %(how)s": "misma habilidad, %(how)s",
    "speaking instead of typing": "hablar en vez de escribir",
    "still practising (%(b)s)": "sigue practicando (%(b)s)",
    "text read aloud": "texto leído en voz alta",
    "the family": "la familia",
    "the latest week with schoolwork": "la última semana con trabajo escolar",
    "the student": "el estudiante",
    "the teacher": "el maestro",
    "today": "hoy",
    "unlocks %(what)s": "abre paso a %(what)s",
    "updated %(d)s": "actualizado el %(d)s",
    "with a partner": "con un compañero",
    "with a small group": "con un grupo pequeño",
    "with classmates": "con compañeros",
    "with the whole class": "con toda la clase",
    "with your teacher": "con tu maestro",
    "written by %(who)s": "escrito por %(who)s",
    "yesterday": "ayer",
    "you": "ti",
    "your teacher has not checked this plan yet": "tu maestro todavía no revisó este plan",
    "“About 4 in 5” means we are fairly sure, not certain, that the skill is learned.":
        "«Más o menos 4 de 5» quiere decir que estamos bastante seguros, no del todo, de que la habilidad está aprendida.",
}


def main() -> None:
    from pathlib import Path

    from babel.messages.pofile import read_po, write_po

    here = Path(__file__).resolve().parent
    with open(here / "messages.pot", "rb") as f:
        catalog = read_po(f, locale="es")
    missing = []
    for m in catalog:
        if not m.id:
            continue
        if m.id not in ES:
            missing.append(m.id)
            continue
        value = ES[m.id]
        if isinstance(value, tuple):  # CLDR Spanish plurals: one, many (a million...), other
            value = (value[0], value[1], value[1])[:catalog.num_plurals]
        m.string = value
    catalog.fuzzy = False
    catalog.project, catalog.version = "Pathwise", "1"
    catalog.last_translator = catalog.language_team = "Pathwise maintainers"
    out = here / "es" / "LC_MESSAGES" / "messages.po"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        write_po(f, catalog, width=100, omit_header=False)
    if missing:
        raise SystemExit(f"untranslated: {missing}")


if __name__ == "__main__":
    main()
