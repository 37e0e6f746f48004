/*
 * list.h - the one intrusive doubly-linked list of the core.
 *
 * A list is a `struct cl_list` head; an element embeds a `struct cl_list`
 * link and is found from it with cl_container_of. The list is circular
 * through its head, so adding and removing never test for an empty list
 * or an end, and an element can leave its list without knowing which list
 * that is (a woken waiter unlinks itself from whatever it waited on).
 *
 *   struct item { int v; struct cl_list link; };
 *   struct cl_list items;  cl_list_init(&items);
 *   cl_list_push_back(&items, &it->link);
 *   for (struct cl_list *l = items.next; l != &items; l = l->next)
 *       use(cl_container_of(l, struct item, link));
 *
 * A link that is on no list points to itself (cl_list_init, or after
 * cl_list_remove), so cl_list_linked() tells whether it is on one.
 */
#ifndef CL_LIST_H
#define CL_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct cl_list {
    struct cl_list *next, *prev;
};

#define cl_container_of(ptr, type, member)                                   \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* An empty list, or a link on no list. */
static inline void cl_list_init(struct cl_list *l)
{
    l->next = l->prev = l;
}

static inline bool cl_list_empty(const struct cl_list *head)
{
    return head->next == head;
}

/* Is this link on a list? (false after cl_list_init or cl_list_remove) */
static inline bool cl_list_linked(const struct cl_list *link)
{
    return link->next != link;
}

static inline void cl_list_insert_after_(struct cl_list *at,
                                         struct cl_list *link)
{
    link->prev = at;
    link->next = at->next;
    at->next->prev = link;
    at->next = link;
}

static inline void cl_list_push_back(struct cl_list *head, struct cl_list *link)
{
    cl_list_insert_after_(head->prev, link);
}

static inline void cl_list_push_front(struct cl_list *head,
                                      struct cl_list *link)
{
    cl_list_insert_after_(head, link);
}

/* Take link off its list; it is left on none. */
static inline void cl_list_remove(struct cl_list *link)
{
    link->prev->next = link->next;
    link->next->prev = link->prev;
    cl_list_init(link);
}

/* The first and last links, or NULL when the list is empty. */
static inline struct cl_list *cl_list_first(const struct cl_list *head)
{
    return cl_list_empty(head) ? NULL : head->next;
}

static inline struct cl_list *cl_list_last(const struct cl_list *head)
{
    return cl_list_empty(head) ? NULL : head->prev;
}

/* Each link of the list, in order; `l` may be removed in the body. */
#define cl_list_for_each_safe(l, tmp, head)                                  \
    for ((l) = (head)->next, (tmp) = (l)->next; (l) != (head);              \
         (l) = (tmp), (tmp) = (l)->next)

#endif
